"""A real HTTP server on loopback standing in for ntfy, signal-cli-rest-api and a Matrix
homeserver, and a record of every connection the process opens meanwhile."""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class PushServer:
    """Answers every request with `status` and a JSON body good enough for all three APIs."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[Received] = []
        self._lock = threading.Lock()

    def take(self) -> list[Received]:
        with self._lock:
            taken, self.received = self.received, []
        return taken

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.received.append(Received(self.command, self.path, dict(self.headers), body))
                # A Matrix homeserver's answers to whoami, join and send, in one.
                reply = json.dumps(
                    {"user_id": "@intake:example.org", "room_id": "!joined:example.org", "event_id": "$1"}
                ).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


@contextmanager
def push_server(status: int = 200) -> Iterator[tuple[PushServer, int]]:
    push = PushServer(status)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), push.handler())
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield push, httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


_connections: list[tuple[str, object]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _connections is None:
        return
    if event == "socket.connect" and args[0].family in (socket.AF_INET, socket.AF_INET6):
        _connections.append((event, args[1][:2]))
    elif event == "socket.getaddrinfo":
        _connections.append((event, args[0]))


sys.addaudithook(_audit)


@contextmanager
def recorded_connections() -> Iterator[list[tuple[str, object]]]:
    """Every TCP connect and name lookup this process makes inside the block."""
    global _connections
    _connections = []
    try:
        yield _connections
    finally:
        _connections = None
