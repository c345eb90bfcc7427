"""Uploads through the real server (gunicorn) over raw sockets: every way a body can break
gives the "interrupted" page and leaves nothing, and no database transaction waits on a body."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from intake.db import session_factory
from intake.services.multipart_stream import READ_CHUNK_BYTES
from tests.gunicorn_server import STALL_TIMEOUT_SECONDS, get, post_head, read_response, running_gunicorn
from tests.submit.helpers import NOTHING_STORED, create_readers, stored_state
from tests.submit.multipart import CONTENT_TYPE, Upload, body_bytes, help_request_parts, request_tokens_on

# The server reads the body READ_CHUNK_BYTES at a time: half the file must be more than one read.
FILE_BYTES = 4 * READ_CHUNK_BYTES
Address = tuple[str, int]


@pytest.fixture
def server(app: Flask, tmp_path: Path, database_url: str) -> Iterator[Address]:
    with session_factory(app)() as session:
        create_readers(session)
    with running_gunicorn(tmp_path, database_url) as address:
        yield address


def request_body(address: Address) -> tuple[str, bytes]:
    """A session cookie and a Russian help request whose one file is a few megabytes of video."""
    form = get(address, "/request")
    parts = help_request_parts(request_tokens_on(form.body), files=[Upload("видео.mp4", bytes(FILE_BYTES))])
    return form.cookie(), body_bytes(parts)


def chunked(data: bytes, size: int = 16 * 1024) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size]) for i in range(0, len(data), size))


def wait_for_a_partial(app: Flask) -> None:
    """Until the server has started encrypting the file: its partial blob exists."""
    temp_dir = app.config["INTAKE"].blob_dir / "tmp"
    deadline = time.monotonic() + 30
    while not list(temp_dir.glob("*.partial")):
        assert time.monotonic() < deadline, "the server never started storing the file"
        time.sleep(0.05)


def stop_sending(connection: socket.socket) -> None:
    connection.shutdown(socket.SHUT_WR)


def stall(_connection: socket.socket) -> None:
    time.sleep(STALL_TIMEOUT_SECONDS + 1)


def send_bad_chunk_size(connection: socket.socket) -> None:
    connection.sendall(b"zz\r\n")


Breakage = Callable[[socket.socket], None]


@pytest.mark.parametrize(
    ("use_chunked", "breakage"),
    [
        pytest.param(False, stop_sending, id="connection-closed-mid-body"),
        pytest.param(True, stop_sending, id="chunked-body-ends-mid-chunk-stream"),
        pytest.param(True, send_bad_chunk_size, id="invalid-chunk-size"),
        pytest.param(False, stall, id="body-stalls-past-the-read-timeout"),
    ],
)
def test_a_broken_body_gets_the_interrupted_page_and_leaves_nothing(
    app: Flask, server: Address, use_chunked: bool, breakage: Breakage
) -> None:
    cookie, body = request_body(server)
    sent_part = body[: len(body) - FILE_BYTES // 2]
    framing = "Transfer-Encoding: chunked" if use_chunked else f"Content-Length: {len(body)}"
    with socket.create_connection(server, timeout=60) as connection:
        # Given half the file has arrived and is being encrypted
        connection.sendall(post_head("/request", cookie, CONTENT_TYPE, framing))
        connection.sendall(chunked(sent_part) if use_chunked else sent_part)
        wait_for_a_partial(app)

        # When the body breaks
        breakage(connection)
        response = read_response(connection)

    # Then the submitter is told plainly, and nothing is kept
    assert 400 <= response.status < 500
    assert "Your upload was interrupted" in response.body
    assert stored_state(app) == NOTHING_STORED


def test_no_database_transaction_waits_while_a_body_streams(
    app: Flask, server: Address, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL shows idle transactions in pg_stat_activity; SQLite opens none for reads")
    cookie, body = request_body(server)
    observer = create_engine(database_url)
    try:
        with socket.create_connection(server, timeout=60) as connection:
            # Given an upload whose file is streaming in (and will take hours over Tor)
            connection.sendall(post_head("/request", cookie, CONTENT_TYPE, f"Content-Length: {len(body)}"))
            connection.sendall(body[: len(body) - FILE_BYTES // 2])
            wait_for_a_partial(app)
            time.sleep(0.5)

            # Then PostgreSQL sees no transaction left open by it
            with observer.connect() as watching:
                idle = watching.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
                    )
                ).scalar_one()
            assert idle == 0

            connection.sendall(body[len(body) - FILE_BYTES // 2 :])
            assert read_response(connection).status == 200
    finally:
        observer.dispose()
