"""A large help request through the server stack the compose file runs, beside `age`, `gpg` and a sink.

The stack: nginx with deploy/front/nginx.conf in front of gunicorn with
config/gunicorn.py, production mode, rate limits in Redis
(`INTAKE_BENCH_REDIS_URL`, flushed). curl posts the help-request form as a
browser does (the form fetched first for its CSRF token and sealed codename,
one file part, Content-Length known), through the front. Beside it, in the
same run and on the same file:

* `age -r` to the same two recipients the app encrypts to (lawyer and
  recovery key), writing next to the app's blobs;
* `gpg --encrypt` to a cv25519 key made in a temporary GNUPGHOME, no
  compression;
* a sink (bench/body_sink.py): the same gunicorn settings behind the same
  front, reading the body as the upload views do and keeping nothing, so
  the HTTP layer's own share of the app's time shows.

age and gpg run twice: as they are, and with their output fsynced before
the run ends, as the app fsyncs every blob before it answers (an accepted
request must survive a power cut). The issue's ratios are to the first.

Median of three rounds, each running all six in turn. CPU seconds per GiB
are the app's (or sink's) gunicorn workers' and the front's, and the
children's own for age and gpg; curl's are left out. Memory growth is the
peak of all workers' resident memory during an upload above their sum just
before it, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis

from bench.measure import report
from bench.server import BENCH_REDIS_URL, Client, Server, child_pids, cpu_seconds, gunicorn
from intake import create_app, migrate
from intake.db import engine, session_factory
from tests.conftest import TEST_SECRET, make_config
from tests.factories import create_lawyer, set_recovery_key
from tests.servers import Front, front
from tests.submit.multipart import Text, help_request_parts, request_tokens_on

MIB = 1024**2
GIB = 1024**3
QUICK_BYTES = 8 * MIB
RUNS = 3
MEMORY_SAMPLE_SECONDS = 0.05
GPG_USER = "bench@example.invalid"


@dataclass(frozen=True)
class Run:
    seconds: float
    cpu_seconds: float
    # Only for the servers: peak growth of the workers' resident memory.
    memory_growth_kib: int = 0


@dataclass(frozen=True)
class Stack:
    """One gunicorn behind one front."""

    server: Server
    front: Front

    def cpu_seconds(self) -> float:
        nginx_master = int((self.front.run_dir / "nginx.pid").read_text())
        return self.server.workers_cpu_seconds() + cpu_seconds([nginx_master, *child_pids(nginx_master)])


@contextmanager
def _stack(work: Path, name: str, environ: dict[str, str], app: str) -> Iterator[Stack]:
    front_dir = work / name
    front_dir.mkdir()
    with gunicorn(environ, workers=None, app=app) as server, front(front_dir, server) as proxy:
        yield Stack(server, proxy)


def _write_input(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as output:
        for offset in range(0, size, MIB):
            output.write(block[: min(MIB, size - offset)])


def _curl_form(port: int, cookies: dict[str, str], fields: list[Text], file_field: str, source: Path) -> bytes:
    """POST the form through curl; `fields` precede the file, as in the browser's body."""
    arguments = ["curl", "-sS", "--fail-with-body", "-H", "Expect:"]
    if cookies:
        arguments += ["-H", "Cookie: " + "; ".join(f"{name}={value}" for name, value in cookies.items())]
    for field in fields:
        arguments += ["--form-string", f"{field.name}={field.value}"]
    arguments += ["-F", f"{file_field}=@{source};filename=video.mp4;type=video/mp4"]
    arguments.append(f"http://127.0.0.1:{port}/request")
    return subprocess.run(arguments, check=True, capture_output=True).stdout


@contextmanager
def _memory_peak(server: Server) -> Iterator[list[int]]:
    """Yields [baseline, peak] of the workers' summed resident memory, the peak filled in on exit."""
    stop = threading.Event()
    sampled = [server.workers_rss_kib()] * 2

    def sample() -> None:
        while not stop.wait(MEMORY_SAMPLE_SECONDS):
            sampled[1] = max(sampled[1], server.workers_rss_kib())

    watcher = threading.Thread(target=sample)
    watcher.start()
    try:
        yield sampled
    finally:
        stop.set()
        watcher.join()


def _through(stack: Stack, post: Callable[[], None]) -> Run:
    cpu_before = stack.cpu_seconds()
    with _memory_peak(stack.server) as memory:
        started = time.perf_counter()
        post()
        seconds = time.perf_counter() - started
    return Run(seconds, stack.cpu_seconds() - cpu_before, memory[1] - memory[0])


def _upload(stack: Stack, source: Path, blobs: Path) -> Run:
    client = Client(stack.front.public_port)
    tokens = request_tokens_on(client.get("/request").text)
    fields = [part for part in help_request_parts(tokens) if isinstance(part, Text)]

    def post() -> None:
        page = _curl_form(stack.front.public_port, client.cookies, fields, "attachments", source)
        assert b'id="codename"' in page, page[-2000:]

    run = _through(stack, post)
    stored = [path for path in blobs.glob("*/*.age")]
    assert len(stored) == 1 and stored[0].stat().st_size > source.stat().st_size, stored
    stored[0].unlink()
    return run


def _sink(stack: Stack, source: Path) -> Run:
    def post() -> None:
        received = _curl_form(stack.front.public_port, {}, [], "attachments", source)
        assert int(received) > source.stat().st_size, received

    return _through(stack, post)


def _child_run(
    arguments: list[str], output: Path, environ: dict[str, str] | None = None, synced: bool = False
) -> Run:
    """One run of a command line tool; `synced` also waits for its output to reach the disk.

    The app fsyncs every blob before it answers (an accepted request must
    survive a power cut); age and gpg leave their output in the page cache.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(arguments, check=True, env=environ, stdout=subprocess.DEVNULL)
    if synced:
        descriptor = os.open(output, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    output.unlink()
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Run(seconds, cpu)


@contextmanager
def _gpg_home(work: Path) -> Iterator[dict[str, str]]:
    """A GNUPGHOME with a cv25519 encryption key for GPG_USER; its agent is stopped on exit."""
    home = work / "gnupg"
    home.mkdir(mode=0o700)
    environ = {**os.environ, "GNUPGHOME": str(home)}
    try:
        subprocess.run(
            ["gpg", "--batch", "--quiet", "--passphrase", "", "--quick-generate-key", GPG_USER,
             "future-default", "default", "never"],
            check=True, env=environ, capture_output=True,
        )
        yield environ
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=environ, check=False)


def _seed(work: Path, database_url: str) -> list[str]:
    """A vetted lawyer and a recovery key; returns the recipients every upload is encrypted to."""
    migrate.upgrade(database_url)
    app = create_app(make_config(work, database_url))
    with session_factory(app)() as session:
        recipients = [set_recovery_key(session).recipient, create_lawyer(session).identity.recipient]
    engine(app).dispose()
    return recipients


def _summary(runs: list[Run], size: int) -> dict[str, float]:
    seconds = statistics.median(run.seconds for run in runs)
    return {
        "mib_s": size / MIB / seconds,
        "cpu_s_per_gib": statistics.median(run.cpu_seconds for run in runs) * GIB / size,
    }


def main(quick: bool = False, size: int | None = None) -> None:
    """`size` (bytes) overrides the default input, to iterate on a smaller one than a GiB."""
    size = size or (QUICK_BYTES if quick else GIB)
    redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    with tempfile.TemporaryDirectory() as scratch, ExitStack() as servers:
        work = Path(scratch)
        database_url = f"sqlite:///{work / 'data' / 'intake.sqlite3'}"
        recipients = _seed(work, database_url)
        blobs = work / "blobs"
        environ = {
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "INTAKE_DATA_DIR": str(work / "data"),
            "INTAKE_BLOB_DIR": str(blobs),
            "INTAKE_SUBMIT_RATE_LIMIT": "1000000 per hour",
            "INTAKE_GLOBAL_SUBMIT_RATE_LIMIT": "1000000 per hour",
        }
        app_stack = servers.enter_context(_stack(work, "app-front", environ, "wsgi:app"))
        sink_stack = servers.enter_context(_stack(work, "sink-front", environ, "bench.body_sink:app"))
        gpg_environ = servers.enter_context(_gpg_home(work))
        source = work / "video.mp4"
        _write_input(source, size)
        encrypted = blobs / "age-cli.age"
        age_recipients = [flag for recipient in recipients for flag in ("-r", recipient)]

        # A small upload first, so that no measured one pays for first-request work.
        warm_up = work / "warm-up.bin"
        _write_input(warm_up, MIB)
        _upload(app_stack, warm_up, blobs)

        age_command = ["age", *age_recipients, "-o", str(encrypted), str(source)]
        gpg_command = ["gpg", "--batch", "--quiet", "--trust-model", "always", "--compress-algo", "none",
                       "-r", GPG_USER, "--output", str(encrypted), "--encrypt", str(source)]
        runs: dict[str, list[Run]] = {name: [] for name in ("app", "sink", "age", "gpg", "age_synced", "gpg_synced")}
        for _ in range(RUNS):
            runs["app"].append(_upload(app_stack, source, blobs))
            runs["sink"].append(_sink(sink_stack, source))
            runs["age"].append(_child_run(age_command, encrypted))
            runs["gpg"].append(_child_run(gpg_command, encrypted, gpg_environ))
            runs["age_synced"].append(_child_run(age_command, encrypted, synced=True))
            runs["gpg_synced"].append(_child_run(gpg_command, encrypted, gpg_environ, synced=True))
    app, sink, age, gpg, age_synced, gpg_synced = (
        _summary(runs[name], size) for name in ("app", "sink", "age", "gpg", "age_synced", "gpg_synced")
    )
    report(
        f"upload {size / MIB:.0f} MiB help request through nginx + gunicorn (production, Redis limits), "
        f"beside age -r, gpg --encrypt and a body sink on the same bytes (median of {RUNS})",
        {
            "app_mib_s": app["mib_s"],
            "app_cpu_s_per_gib": app["cpu_s_per_gib"],
            "sink_mib_s": sink["mib_s"],
            "sink_cpu_s_per_gib": sink["cpu_s_per_gib"],
            "age_mib_s": age["mib_s"],
            "age_cpu_s_per_gib": age["cpu_s_per_gib"],
            "gpg_mib_s": gpg["mib_s"],
            "gpg_cpu_s_per_gib": gpg["cpu_s_per_gib"],
            "ratio_to_age": app["mib_s"] / age["mib_s"],
            "ratio_to_gpg": app["mib_s"] / gpg["mib_s"],
            # The same tools with their output fsynced, as the app's blobs are.
            "age_synced_mib_s": age_synced["mib_s"],
            "gpg_synced_mib_s": gpg_synced["mib_s"],
            "ratio_to_synced_age": app["mib_s"] / age_synced["mib_s"],
            "ratio_to_synced_gpg": app["mib_s"] / gpg_synced["mib_s"],
            "peak_growth_mib": max(run.memory_growth_kib for run in runs["app"]) / 1024,
            "load_average": os.getloadavg()[0],
        },
    )


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.upload_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"a {QUICK_BYTES // MIB} MiB file: checks that it runs")
    parser.add_argument("--size-mib", type=int, help="the file's size in MiB (default: 1024)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    logging.disable(logging.INFO)
    arguments = _arguments(sys.argv[1:])
    main(quick=arguments.quick, size=arguments.size_mib * MIB if arguments.size_mib else None)
