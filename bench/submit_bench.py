"""Text-only help requests through real gunicorn: throughput, latency and the workers' memory.

Each client is one browser: it fetches the form (cookie and CSRF token) and
posts a text request, again and again. Every accepted request costs one
production codename derivation (Argon2id, 64 MiB), which is what bounds both
the rate and the memory. Rate limits are raised out of the way; they are
measured by the tests, not here.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from bench.measure import report
from bench.server import BENCH_REDIS_URL, Client, Server, gunicorn
from intake import create_app, migrate
from intake.db import engine, session_factory
from tests.conftest import TEST_SECRET, make_config
from tests.factories import create_lawyer, set_recovery_key
from tests.submit.multipart import Text, help_request_parts, request_tokens_on

CLIENTS = 10
SECONDS = 30.0
QUICK_CLIENTS = 2
QUICK_SECONDS = 3.0
MEMORY_SAMPLE_SECONDS = 0.05


def _fields() -> dict[str, str]:
    return {part.name: part.value for part in help_request_parts("") if isinstance(part, Text)}


def _submitter(port: int, until: float, latencies: list[float], failures: list[int]) -> None:
    fields = _fields()
    while time.monotonic() < until:
        client = Client(port)
        tokens = request_tokens_on(client.get("/request").text)
        fields["csrf_token"], fields["form_codename"] = tokens.csrf, tokens.form_codename
        started = time.perf_counter()
        reply = client.post_multipart("/request", fields)
        elapsed = time.perf_counter() - started
        if reply.status == 200 and "codename" in reply.text:
            latencies.append(elapsed)
        else:
            failures.append(reply.status)


def _watch_memory(server: Server, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], server.workers_rss_kib())
        stop.wait(MEMORY_SAMPLE_SECONDS)


def main(quick: bool = False) -> None:
    clients, seconds = (QUICK_CLIENTS, QUICK_SECONDS) if quick else (CLIENTS, SECONDS)
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        database_url = f"sqlite:///{work / 'data' / 'intake.sqlite3'}"
        migrate.upgrade(database_url)
        app = create_app(make_config(work, database_url))
        with session_factory(app)() as session:
            set_recovery_key(session)
            create_lawyer(session)
        engine(app).dispose()
        environ = {
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "INTAKE_DATA_DIR": str(work / "data"),
            "INTAKE_BLOB_DIR": str(work / "blobs"),
            "INTAKE_SUBMIT_RATE_LIMIT": "1000000 per hour",
            "INTAKE_GLOBAL_SUBMIT_RATE_LIMIT": "1000000 per hour",
        }
        with gunicorn(environ, workers=None) as server:
            idle_kib = server.workers_rss_kib()
            latencies: list[float] = []
            failures: list[int] = []
            stop, peak = threading.Event(), [idle_kib]
            watcher = threading.Thread(target=_watch_memory, args=(server, stop, peak))
            watcher.start()
            until = time.monotonic() + seconds
            started = time.monotonic()
            threads = [
                threading.Thread(target=_submitter, args=(server.port, until, latencies, failures))
                for _ in range(clients)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            stop.set()
            watcher.join()
            workers = len(server.worker_pids())
    ordered = sorted(latencies)
    report(
        f"text help requests through gunicorn ({workers} workers), {clients} clients for {seconds:.0f} s",
        {
            "accepted": len(latencies),
            "refused": len(failures),
            "per_second": len(latencies) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
            "p99_ms": ordered[round(0.99 * (len(ordered) - 1))] * 1000 if ordered else 0.0,
            "workers_idle_mib": idle_kib / 1024,
            "workers_peak_mib": peak[0] / 1024,
            "load_average": os.getloadavg()[0],
        },
    )


if __name__ == "__main__":
    logging.disable(logging.INFO)
    main(quick="--quick" in sys.argv[1:])
