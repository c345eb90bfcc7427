"""The image's HEALTHCHECK (`python -m config.healthcheck`) follows INTAKE_BIND."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from config.healthcheck import probe_address

ROOT = Path(__file__).resolve().parents[2]


class Healthz(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 — http.server's name
        body = b"ok\n" if self.path == "/healthz" else b"no\n"
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _healthcheck(bind: str) -> int:
    env = {**os.environ, "INTAKE_BIND": bind}
    return subprocess.run([sys.executable, "-m", "config.healthcheck"], cwd=ROOT, env=env, timeout=30).returncode


def test_healthy_on_a_moved_listener(server_port: int) -> None:
    # Given gunicorn told to listen on another port than the default 8000
    # When the container's health check runs with the same environment
    # Then it asks that port, not 8000.
    assert _healthcheck(f"0.0.0.0:{server_port},0.0.0.0:8001") == 0


def test_unhealthy_when_nothing_answers(server_port: int) -> None:
    assert _healthcheck(f"127.0.0.1:{server_port + 1 if server_port < 65535 else 1}") == 1


def test_wildcards_are_probed_on_loopback() -> None:
    assert probe_address("0.0.0.0:8000") == ("127.0.0.1", 8000)
    assert probe_address("[::]:9000") == ("::1", 9000)
    assert probe_address("10.1.2.3:8080") == ("10.1.2.3", 8080)
