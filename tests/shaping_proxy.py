"""A TCP proxy that makes a loopback connection behave like a Tor circuit.

Every byte waits `one_way_delay` seconds in each direction (so a round trip
takes twice that), each direction is held to `bytes_per_second`, and the
proxy can cut one connection once a given number of request bytes has
passed through it, as a dropped circuit cuts an upload.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
from dataclasses import dataclass, field

PIECE_BYTES = 4096


@dataclass
class ShapingProxy:
    target: tuple[str, int]
    one_way_delay: float = 0.25
    bytes_per_second: int = 64 * 1024
    # Cut the first connection whose request bytes reach this many (None: never).
    cut_after_request_bytes: int | None = None
    cuts: int = 0
    _listener: socket.socket = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def start(self) -> int:
        self._listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        port: int = self._listener.getsockname()[1]
        return port

    def stop(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            connection = _Connection(client, server)
            for source, sink, upstream in ((client, server, True), (server, client, False)):
                pieces: queue.Queue[tuple[float, bytes]] = queue.Queue()
                threading.Thread(target=self._read, args=(source, pieces, connection, upstream), daemon=True).start()
                threading.Thread(target=self._write, args=(sink, pieces, connection), daemon=True).start()

    def _should_cut(self, connection: _Connection) -> bool:
        with self._lock:
            if self.cut_after_request_bytes is None or self.cuts:
                return False
            if connection.request_bytes < self.cut_after_request_bytes:
                return False
            self.cuts += 1
            return True

    def _read(
        self, source: socket.socket, pieces: queue.Queue[tuple[float, bytes]], connection: _Connection, upstream: bool
    ) -> None:
        while True:
            try:
                data = source.recv(PIECE_BYTES)
            except OSError:
                data = b""
            pieces.put((time.monotonic() + self.one_way_delay, data))
            if not data:
                return
            if upstream:
                connection.request_bytes += len(data)
                if self._should_cut(connection):
                    connection.cut()
                    return

    def _write(self, sink: socket.socket, pieces: queue.Queue[tuple[float, bytes]], connection: _Connection) -> None:
        while True:
            due, data = pieces.get()
            time.sleep(max(0.0, due - time.monotonic()))
            if connection.was_cut:
                return
            if not data:
                with contextlib.suppress(OSError):
                    sink.shutdown(socket.SHUT_WR)
                return
            try:
                sink.sendall(data)
            except OSError:
                connection.cut()
                return
            time.sleep(len(data) / self.bytes_per_second)


class _Connection:
    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self._sockets = (client, server)
        self.request_bytes = 0
        self.was_cut = False

    def cut(self) -> None:
        """Both ends see a reset, as when a circuit dies."""
        self.was_cut = True
        for sock in self._sockets:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                sock.close()
            except OSError:
                pass
