"""The front server (deploy/front/nginx.conf, real nginx) in front of real gunicorn.

Slow clients cannot starve the site, bodies stream through to the app
without touching nginx's disk, and the app's own size limits still answer.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.servers import Front, Gunicorn, front, get, gunicorn
from tests.submit.helpers import create_readers
from tests.submit.multipart import (
    CONTENT_TYPE,
    RequestTokens,
    Upload,
    body_bytes,
    help_request_parts,
    request_tokens_on,
)

SLOW_CLIENTS = 300


@pytest.fixture
def app_server(tmp_path: Path, database_url: str) -> Iterator[Gunicorn]:
    with gunicorn(tmp_path, database_url, INTAKE_MAX_SUBMISSION_BYTES=str(8 * 1024 * 1024)) as server:
        yield server


@pytest.fixture
def front_server(tmp_path: Path, app_server: Gunicorn) -> Iterator[Front]:
    with front(tmp_path, app_server) as server:
        yield server


def _slow_header_clients(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        clients.append(client)
    return clients


def _trickle(clients: list[socket.socket], rounds: int) -> None:
    """One more header byte per client every two seconds."""
    for _ in range(rounds):
        for client in list(clients):
            try:
                client.sendall(b"X")
            except OSError:
                clients.remove(client)
        time.sleep(2)


def test_slow_header_clients_do_not_starve_the_site(front_server: Front) -> None:
    # Given hundreds of clients that send their headers one byte every two
    # seconds (gunicorn alone stops answering with twelve)
    clients = _slow_header_clients(front_server.public_port, SLOW_CLIENTS)
    trickler = threading.Thread(target=_trickle, args=(clients, 5), daemon=True)
    trickler.start()
    try:
        time.sleep(3)
        # When somebody asks for a page meanwhile
        for _ in range(5):
            status, headers, body = get(front_server.public_port, "/healthz", timeout=5)
            # Then it answers at once
            assert (status, body) == (200, b"ok\n")
        assert headers["server"] == "nginx", "no version, no gunicorn"
    finally:
        trickler.join()
        for client in clients:
            client.close()


def test_slow_headers_are_cut_off(front_server: Front) -> None:
    # Given a client that never finishes its headers
    clients = _slow_header_clients(front_server.public_port, 1)
    client = clients[0]
    client.settimeout(40)
    try:
        # Then the front server drops the connection after its header timeout
        # (with a reset: reset_timedout_connection frees the socket at once)
        started = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            while client.recv(4096):
                pass
        assert time.monotonic() - started < 35
    finally:
        client.close()


def _files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file() and path.name != "nginx.pid"]


def _form_session(port: int) -> tuple[http.client.HTTPConnection, str, RequestTokens]:
    """A connection, the session cookie and the form's tokens, as a browser would hold them."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/request")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    assert cookie
    return connection, cookie, request_tokens_on(page)


def test_an_upload_streams_through_without_touching_nginx_disk(
    front_server: Front, db_session: Session, tmp_path: Path
) -> None:
    create_readers(db_session)
    connection, cookie, tokens = _form_session(front_server.public_port)

    # When a 6 MiB file is sent slowly, in 256 KiB pieces
    file_size = 6 * 1024 * 1024
    parts = help_request_parts(tokens, files=[Upload("большой.bin", b"\xa5" * file_size)])
    body = body_bytes(parts)
    connection.putrequest("POST", "/request")
    connection.putheader("Content-Type", CONTENT_TYPE)
    connection.putheader("Content-Length", str(len(body)))
    connection.putheader("Cookie", cookie)
    connection.endheaders()
    blobs = tmp_path / "blobs"
    seen_partial = False
    piece = 256 * 1024
    for offset in range(0, len(body) - piece, piece):
        connection.send(body[offset : offset + piece])
        time.sleep(0.02)
        # Then nginx keeps nothing on disk while the body passes through
        assert _files_under(front_server.run_dir) == []
        if blobs.exists():
            seen_partial = seen_partial or any(path.name.endswith(".partial") for path in blobs.rglob("*"))
    # And the app was encrypting the file before the last bytes left the client
    assert seen_partial, "the body was buffered, not streamed"
    connection.send(body[offset + piece :])
    response = connection.getresponse()
    assert response.status == 200, response.read()[-2000:]
    assert "codename" in response.read().decode()
    assert _files_under(front_server.run_dir) == []


def test_an_oversized_upload_is_refused_by_the_app(front_server: Front, db_session: Session) -> None:
    create_readers(db_session)
    connection, cookie, _token = _form_session(front_server.public_port)
    # Given a body larger than INTAKE_MAX_SUBMISSION_BYTES, announced up front
    connection.putrequest("POST", "/request")
    connection.putheader("Content-Type", CONTENT_TYPE)
    connection.putheader("Content-Length", str(64 * 1024 * 1024))
    connection.putheader("Cookie", cookie)
    connection.endheaders()
    # Then the app's own page answers before the body is sent
    response = connection.getresponse()
    assert response.status == 413
    assert "The limit is" in response.read().decode()
    assert _files_under(front_server.run_dir) == []


def test_staff_pages_only_through_the_staff_listener(front_server: Front) -> None:
    # The app tells the onions apart by its listening socket: the front keeps them apart.
    assert get(front_server.staff_port, "/lawyer/login")[0] == 200
    assert get(front_server.public_port, "/lawyer/login")[0] == 404
    assert get(front_server.public_port, "/")[0] == 200


def _slow_body_clients(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        client = socket.create_connection(("127.0.0.1", port), timeout=5)
        client.sendall(
            b"POST /codename HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 100000\r\n\r\ncodename="
        )
        clients.append(client)
    return clients


def test_slow_form_bodies_do_not_reach_gunicorn(front_server: Front) -> None:
    # Given clients that send a form body one byte every two seconds (gunicorn
    # would give each a thread; it has four here)
    clients = _slow_body_clients(front_server.public_port, 40) + _slow_body_clients(front_server.staff_port, 20)
    trickler = threading.Thread(target=_trickle, args=(clients, 5), daemon=True)
    trickler.start()
    try:
        time.sleep(3)
        # Then pages still answer on both onions, and nothing was written to disk
        for port in (front_server.public_port, front_server.staff_port):
            status, _headers, body = get(port, "/healthz", timeout=5)
            assert (status, body) == (200, b"ok\n")
        assert _files_under(front_server.run_dir) == []
    finally:
        trickler.join()
        for client in clients:
            client.close()


def test_a_form_body_over_the_limit_is_refused_by_the_front(front_server: Front) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", front_server.public_port, timeout=30)
    connection.request("POST", "/codename", body=b"codename=" + b"a" * (1024 * 1024 + 1), headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    assert response.status == 413
    assert _files_under(front_server.run_dir) == []
