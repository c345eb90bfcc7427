"""The production server (gunicorn with config/gunicorn.py) in a subprocess, and a raw HTTP client for it.

A raw socket can do what browsers do on a bad Tor circuit: stop sending in
the middle of a body, stall, or send a broken chunked encoding.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import ROOT, TEST_SECRET

STALL_TIMEOUT_SECONDS = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_gunicorn(tmp_path: Path, database_url: str) -> Iterator[tuple[str, int]]:
    """Gunicorn serving the app for this database and blob directory; yields (host, port)."""
    port = _free_port()
    environ = {
        **os.environ,
        "INTAKE_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_BLOB_DIR": str(tmp_path / "blobs"),
        "DATABASE_URL": database_url,
        "INTAKE_KDF_PROFILE": "fast",
        "INTAKE_BIND": f"127.0.0.1:{port}",
        "INTAKE_WORKERS": "1",
        "INTAKE_THREADS": "4",
        "INTAKE_STALL_TIMEOUT": str(STALL_TIMEOUT_SECONDS),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "wsgi:app"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_listening(port, server)
        yield "127.0.0.1", port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            assert server.stderr is not None
            raise AssertionError(f"gunicorn exited: {server.stderr.read().decode()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                pass
        except OSError:
            time.sleep(0.2)
            continue
        # A worker answers once the app is built.
        try:
            get(("127.0.0.1", port), "/health/live")
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("gunicorn did not start listening")


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: str

    def cookie(self) -> str:
        for name, value in self.headers:
            if name.lower() == "set-cookie":
                return value.split(";", 1)[0]
        raise AssertionError("no cookie was set")


def read_response(connection: socket.socket) -> RawResponse:
    received = bytearray()
    while chunk := connection.recv(65536):
        received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = [(name, value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])]
    if any(name.lower() == "transfer-encoding" and "chunked" in value for name, value in headers):
        body = _dechunk(body)
    return RawResponse(status, headers, body.decode("utf-8", "replace"))


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return bytes(out)


def get(address: tuple[str, int], path: str, cookie: str = "") -> RawResponse:
    with socket.create_connection(address, timeout=30) as connection:
        cookie_line = f"Cookie: {cookie}\r\n" if cookie else ""
        connection.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\n{cookie_line}Connection: close\r\n\r\n".encode()
        )
        return read_response(connection)


def post_head(path: str, cookie: str, content_type: str, framing: str) -> bytes:
    """Request line and headers; `framing` is a Content-Length or Transfer-Encoding header line."""
    return (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n"
        f"Content-Type: {content_type}\r\n{framing}\r\nConnection: close\r\n\r\n"
    ).encode()
