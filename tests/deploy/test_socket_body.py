"""config/socket_body.py: a Content-Length body read off a real socket, as gunicorn parses the request."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from gunicorn.config import Config
from gunicorn.http.body import Body, ChunkedReader
from gunicorn.http.parser import RequestParser

from config.socket_body import SocketLengthBody, read_body_from_socket


@pytest.fixture
def connection() -> Iterator[tuple[socket.socket, socket.socket]]:
    server, client = socket.socketpair()
    with server, client:
        server.settimeout(5)
        yield server, client


def send_in_background(client: socket.socket, data: bytes, close: bool = True) -> threading.Thread:
    def send() -> None:
        client.sendall(data)
        if close:
            client.shutdown(socket.SHUT_WR)

    sender = threading.Thread(target=send)
    sender.start()
    return sender


def first_request(server: socket.socket) -> tuple[RequestParser, Any]:
    parser = RequestParser(Config(), server, ("127.0.0.1", 0))
    request = next(parser)
    read_body_from_socket(request)
    return parser, request


def head(length: int) -> bytes:
    return b"POST /request HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % length


def read_all(body: Body, size: int) -> list[bytes]:
    reads = []
    while data := body.read(size):
        reads.append(data)
    return reads


def test_a_large_body_comes_through_whole_in_full_reads(connection: tuple[socket.socket, socket.socket]) -> None:
    server, client = connection
    content = os.urandom(5 * 1024 * 1024 + 3)
    sender = send_in_background(client, head(len(content)) + content)
    _, request = first_request(server)
    assert isinstance(request.body, SocketLengthBody)
    reads = read_all(request.body, 1024 * 1024)
    sender.join()
    assert b"".join(reads) == content
    assert [len(data) for data in reads] == [1024 * 1024] * 5 + [3]


def test_the_next_request_on_the_connection_is_left_to_gunicorn(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    first, second = b"a" * 70_000, b"second body"
    sender = send_in_background(client, head(len(first)) + first + head(len(second)) + second)
    parser, request = first_request(server)
    assert b"".join(read_all(request.body, 4096)) == first
    following = next(parser)
    sender.join()
    assert following.body.read(100) == second


def test_a_body_cut_short_ends_in_a_short_read_then_nothing(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    sender = send_in_background(client, head(1000) + b"x" * 600)
    _, request = first_request(server)
    assert request.body.read(1000) == b"x" * 600
    assert request.body.read(1000) == b""
    sender.join()


def test_a_stalled_client_times_out_and_the_connection_is_not_reused(
    connection: tuple[socket.socket, socket.socket],
) -> None:
    server, client = connection
    sender = send_in_background(client, head(1000) + b"x" * 10, close=False)
    parser, request = first_request(server)
    server.settimeout(0.2)
    with pytest.raises(TimeoutError):
        request.body.read(1000)
    sender.join()
    assert request.body.failed is True
    assert parser.finish_body() is False


def test_readline_and_read_still_share_one_stream(connection: tuple[socket.socket, socket.socket]) -> None:
    server, client = connection
    content = b"first line\r\nsecond line\r\n" + b"z" * 5000
    sender = send_in_background(client, head(len(content)) + content)
    _, request = first_request(server)
    assert request.body.readline() == b"first line\r\n"
    assert b"".join(read_all(request.body, 1000)) == content[len(b"first line\r\n") :]
    sender.join()


def test_a_chunked_body_keeps_gunicorns_reader(connection: tuple[socket.socket, socket.socket]) -> None:
    server, client = connection
    request_bytes = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    sender = send_in_background(client, request_bytes)
    _, request = first_request(server)
    assert type(request.body) is Body
    assert isinstance(request.body.reader, ChunkedReader)
    assert request.body.read(100) == b"hello"
    sender.join()
