"""Text-only help requests through real gunicorn: throughput, latency, CPU time and the workers' memory.

Each client is one browser: it fetches the form (cookie and CSRF token) and
posts a text request, again and again. Every accepted request costs one
codename derivation at the current version's costs. Rate limits are raised
out of the way; they are measured by the tests, not here.

The clients run on the same cores as the server, and the machine may be
shared, so the rate depends on the load; the server's CPU time per accepted
request (form page included) does not, and 2 / that is what an idle 2-core
machine would accept per second with the clients elsewhere.

SQLite by default; `--postgres` runs against INTAKE_BENCH_POSTGRES_URL (the
compose stack's database), which it empties first.
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
from sqlalchemy import create_engine, text

from bench.measure import report
from bench.server import BENCH_REDIS_URL, Client, Server, cpu_seconds, gunicorn
from intake import create_app, migrate
from intake.db import engine, session_factory
from tests.conftest import TEST_SECRET, make_config, reset_postgres
from tests.factories import create_lawyer, set_recovery_key
from tests.submit.multipart import Text, help_request_parts, request_tokens_on

CLIENTS = 10
SECONDS = 30.0
QUICK_CLIENTS = 2
QUICK_SECONDS = 3.0
# Every worker boots, imports and compiles its templates on its first requests;
# that happens once per worker's life, so it is left out of the figures.
WARM_UP_SECONDS = 5.0
QUICK_WARM_UP_SECONDS = 1.0
MEMORY_SAMPLE_SECONDS = 0.05
POSTGRES_URL = os.environ.get(
    "INTAKE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


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


def _run_clients(port: int, clients: int, seconds: float) -> tuple[list[float], list[int], float]:
    """Latencies of accepted requests, statuses of refused ones, and the wall time taken."""
    latencies: list[float] = []
    failures: list[int] = []
    started = time.monotonic()
    threads = [
        threading.Thread(target=_submitter, args=(port, started + seconds, latencies, failures))
        for _ in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, failures, time.monotonic() - started


def _database_cpu_seconds(database_url: str) -> dict[int, float]:
    """CPU time so far of each PostgreSQL backend connected to the bench's database (same machine)."""
    engine_ = create_engine(database_url)
    with engine_.connect() as connection:
        pids = connection.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalars()
        seconds = {pid: cpu_seconds([pid]) for pid in pids}
    engine_.dispose()
    return seconds


def _watch_memory(server: Server, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], server.workers_rss_kib())
        stop.wait(MEMORY_SAMPLE_SECONDS)


def main(quick: bool = False, postgres: bool = False) -> None:
    clients, seconds = (QUICK_CLIENTS, QUICK_SECONDS) if quick else (CLIENTS, SECONDS)
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        if postgres:
            database_url = POSTGRES_URL
            reset_postgres(database_url)
        else:
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
            _run_clients(server.port, clients, QUICK_WARM_UP_SECONDS if quick else WARM_UP_SECONDS)
            idle_kib = server.workers_rss_kib()
            stop, peak = threading.Event(), [idle_kib]
            watcher = threading.Thread(target=_watch_memory, args=(server, stop, peak))
            watcher.start()
            database_before = _database_cpu_seconds(database_url) if postgres else {}
            cpu_before, client_cpu_before = server.cpu_seconds(), time.process_time()
            latencies, failures, elapsed = _run_clients(server.port, clients, seconds)
            server_cpu = server.cpu_seconds() - cpu_before
            # Backends that came and went during the run are missed: the pool keeps its connections.
            database_after = _database_cpu_seconds(database_url) if postgres else {}
            database_cpu = sum(after - database_before.get(pid, 0.0) for pid, after in database_after.items())
            server_cpu += database_cpu
            client_cpu = time.process_time() - client_cpu_before
            stop.set()
            watcher.join()
            workers = len(server.worker_pids())
    ordered = sorted(latencies)
    report(
        f"text help requests through gunicorn ({workers} workers, {'PostgreSQL' if postgres else 'SQLite'}),"
        f" {clients} clients for {seconds:.0f} s",
        {
            "accepted": len(latencies),
            "refused": len(failures),
            "per_second": len(latencies) / elapsed,
            "p50_ms": statistics.median(ordered) * 1000 if ordered else 0.0,
            "p99_ms": ordered[round(0.99 * (len(ordered) - 1))] * 1000 if ordered else 0.0,
            "server_cpu_ms_per_accepted": server_cpu / len(latencies) * 1000 if latencies else 0.0,
            "of_which_database_ms": database_cpu / len(latencies) * 1000 if latencies else 0.0,
            "client_cpu_ms_per_accepted": client_cpu / len(latencies) * 1000 if latencies else 0.0,
            "idle_2_core_per_second": 2 * len(latencies) / server_cpu if server_cpu else 0.0,
            "workers_warm_mib": idle_kib / 1024,
            "workers_peak_mib": peak[0] / 1024,
            "load_average": os.getloadavg()[0],
        },
    )


if __name__ == "__main__":
    logging.disable(logging.INFO)
    main(quick="--quick" in sys.argv[1:], postgres="--postgres" in sys.argv[1:])
