"""The production server (tests/servers.py) at its public port, and a raw HTTP client for it.

A raw socket can do what browsers do on a bad Tor circuit: stop sending in
the middle of a body, stall, or send a broken chunked encoding.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.servers import gunicorn

STALL_TIMEOUT_SECONDS = 2


@contextmanager
def running_gunicorn(tmp_path: Path, database_url: str) -> Iterator[tuple[str, int]]:
    """Gunicorn serving the app for this database and blob directory; yields its public (host, port)."""
    with gunicorn(tmp_path, database_url, INTAKE_STALL_TIMEOUT=str(STALL_TIMEOUT_SECONDS)) as server:
        yield "127.0.0.1", server.public_port


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
