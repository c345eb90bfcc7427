"""Real servers for tests: gunicorn with config/gunicorn.py, nginx with deploy/front/nginx.conf."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tests.conftest import ROOT, TEST_SECRET

FRONT_CONFIG = ROOT / "deploy" / "front" / "nginx.conf"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def get(port: int, path: str, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def raw_exchange(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send bytes as they are, half-close, and read whatever comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def _wait_for_health(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if get(port, "/healthz", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"server did not answer /healthz:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Gunicorn:
    public_port: int
    staff_port: int
    log: Path


@contextmanager
def gunicorn(
    tmp_path: Path, database_url: str, wsgi_app: str = "wsgi:app", **environ: str
) -> Iterator[Gunicorn]:
    """The production server and settings file, one small worker, with a lawyers' listener.

    Staff pages answer only on the second listener (INTAKE_STAFF_PORT), as in a
    deployment with a lawyers' onion. `wsgi_app` is what gunicorn serves.
    """
    public_port, staff_port = free_port(), free_port()
    log = tmp_path / "gunicorn.log"
    env = {
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
        "INTAKE_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_BLOB_DIR": str(tmp_path / "blobs"),
        "DATABASE_URL": database_url,
        "INTAKE_KDF_PROFILE": "fast",
        "INTAKE_BIND": f"127.0.0.1:{public_port},127.0.0.1:{staff_port}",
        "INTAKE_STAFF_PORT": str(staff_port),
        "INTAKE_WORKERS": "1",
        "INTAKE_THREADS": "4",
        **environ,
    }
    gunicorn_bin = Path(sys.executable).parent / "gunicorn"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(gunicorn_bin), "-c", "python:config.gunicorn", wsgi_app],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(public_port, process, log)
        yield Gunicorn(public_port, staff_port, log)
    finally:
        _stop(process)


class Upstream(Protocol):
    """Where the front sends each listener's requests (the benchmarks' server is one too)."""

    @property
    def public_port(self) -> int: ...

    @property
    def staff_port(self) -> int: ...


@dataclass(frozen=True)
class Front:
    public_port: int
    staff_port: int
    run_dir: Path


@contextmanager
def front(tmp_path: Path, app: Upstream) -> Iterator[Front]:
    """deploy/front/nginx.conf as shipped, with only its ports and run directory moved.

    Its pid file is `run_dir / "nginx.pid"`.
    """
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(nginx).exists(), "nginx is not installed: make system-packages"
    public_port, staff_port = free_port(), free_port()
    run_dir = tmp_path / "nginx-run"
    run_dir.mkdir()
    # Workers drop to `nobody` when the tests run as root.
    run_dir.chmod(0o777)
    text = FRONT_CONFIG.read_text(encoding="utf-8")
    for shipped, moved in (
        ("/run/nginx/", f"{run_dir}/"),
        ("/etc/nginx/intake-small-bodies.conf", str(FRONT_CONFIG.parent / "intake-small-bodies.conf")),
        ("/usr/share/intake-front/busy.html", str(FRONT_CONFIG.parent / "busy.html")),
        ("listen 8000 ", f"listen 127.0.0.1:{public_port} "),
        ("listen 8001 ", f"listen 127.0.0.1:{staff_port} "),
        ("http://app:8000;", f"http://127.0.0.1:{app.public_port};"),
        ("http://app:8001;", f"http://127.0.0.1:{app.staff_port};"),
    ):
        assert shipped in text, f"{shipped!r} is no longer in {FRONT_CONFIG}"
        text = text.replace(shipped, moved)
    config = tmp_path / "nginx.conf"
    config.write_text(text, encoding="utf-8")
    log = tmp_path / "nginx.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [nginx, "-e", "stderr", "-p", str(run_dir), "-c", str(config), "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_health(public_port, process, log)
        yield Front(public_port, staff_port, run_dir)
    finally:
        _stop(process)
