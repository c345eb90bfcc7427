"""The front server's cap on concurrent streamed uploads (deploy/front/nginx.conf), real nginx and gunicorn.

Each streamed upload holds a gunicorn thread until its last byte; the cap
keeps threads free for pages, and the upload over it gets nginx's own busy
page before any of its body reaches the app.
"""

from __future__ import annotations

import http.client
import importlib
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

import config.gunicorn as gunicorn_settings
from intake.services.multipart_stream import READ_CHUNK_BYTES
from tests.servers import FRONT_CONFIG, Front, Gunicorn, front, get, gunicorn
from tests.submit.helpers import create_readers
from tests.submit.multipart import (
    CONTENT_TYPE,
    RequestTokens,
    Upload,
    body_bytes,
    help_request_parts,
    request_tokens_on,
)

# Left unsent of each slow upload, so that it stays in progress.
HELD_BACK = 64 * 1024
# Threads beyond the cap, for pages.
SPARE_THREADS = 4


def shipped_cap() -> int:
    caps = {int(n) for n in re.findall(r"^\s*limit_conn streamed_uploads (\d+);", FRONT_CONFIG.read_text(), re.M)}
    assert len(caps) == 1, f"every streamed location has the same cap: {caps}"
    return caps.pop()


CAP = shipped_cap()


@pytest.fixture
def app_server(tmp_path: Path, database_url: str) -> Iterator[Gunicorn]:
    with gunicorn(tmp_path, database_url, INTAKE_THREADS=str(CAP + SPARE_THREADS)) as server:
        yield server


@pytest.fixture
def front_server(tmp_path: Path, app_server: Gunicorn) -> Iterator[Front]:
    with front(tmp_path, app_server) as server:
        yield server


def _form_tokens(port: int) -> tuple[str, RequestTokens]:
    """The session cookie and the form's tokens, as a browser holds them after GET /request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/request")
        response = connection.getresponse()
        page = response.read().decode()
        assert response.status == 200
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        assert cookie
        return cookie, request_tokens_on(page)
    finally:
        connection.close()


def _help_request(port: int, file_size: int) -> tuple[bytes, bytes]:
    """Request head and body of a help request with one file, on a fresh form session."""
    cookie, tokens = _form_tokens(port)
    body = body_bytes(help_request_parts(tokens, files=[Upload("медленно.bin", b"\x5a" * file_size)]))
    head = (
        f"POST /request HTTP/1.1\r\nHost: front\r\nContent-Type: {CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\nCookie: {cookie}\r\n\r\n"
    ).encode()
    return head, body


def _start_slow_upload(port: int) -> socket.socket:
    """An upload whose last bytes never come: it holds its gunicorn thread."""
    # More than one of the parser's reads arrives, so the app has begun encrypting the file.
    head, body = _help_request(port, 2 * READ_CHUNK_BYTES)
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(head + body[:-HELD_BACK])
    return client


def _partial_blobs(blob_dir: Path) -> int:
    return len(list(blob_dir.glob("tmp/*.partial")))


def _wait_for_partial_blobs(blob_dir: Path, count: int) -> None:
    """Until exactly `count` uploads are being encrypted by the app (each one holds a thread)."""
    deadline = time.monotonic() + 60
    while _partial_blobs(blob_dir) != count:
        assert time.monotonic() < deadline, f"{_partial_blobs(blob_dir)} uploads in the app, expected {count}"
        time.sleep(0.1)


def _send(
    port: int, method: str, path: str, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


def _assert_busy_page(status: int, headers: dict[str, str], page: str) -> None:
    assert status == 503
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    assert int(headers["retry-after"]) > 0
    for nothing_stored in (
        "Ничего из того, что вы отправили, не сохранено",
        "Нічого з того, що ви надіслали, не збережено",
        "Nothing you sent was stored",
    ):
        assert nothing_stored in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href|action)=["']?(?:https?:)?//""", page), "no outside address"


def test_uploads_over_the_cap_get_the_busy_page_and_pages_still_answer(
    front_server: Front, db_session: Session, tmp_path: Path
) -> None:
    create_readers(db_session)
    port = front_server.public_port
    blob_dir = tmp_path / "blobs"
    # Given as many uploads in progress as the cap allows, each holding a thread
    slow = [_start_slow_upload(port) for _ in range(CAP)]
    try:
        _wait_for_partial_blobs(blob_dir, CAP)

        # Then /healthz and the form page still answer
        status, _headers, health = get(port, "/healthz")
        assert (status, health) == (200, b"ok\n")
        status, _headers, form_page = get(port, "/request")
        assert status == 200 and b'enctype="multipart/form-data"' in form_page

        # And one more upload gets the front's busy page, the app none of its body
        head, body = _help_request(port, HELD_BACK)
        cookie = re.search(rb"Cookie: ([^\r]+)", head)
        assert cookie is not None
        status, headers, page = _send(
            port, "POST", "/request", body, {"Content-Type": CONTENT_TYPE, "Cookie": cookie.group(1).decode()}
        )
        _assert_busy_page(status, headers, page)
        assert _partial_blobs(blob_dir) == CAP

        # And so does a chunk of the JavaScript uploader (it retries on 5xx)
        status, headers, page = _send(
            port, "PATCH", "/uploads/a0b1c2", b"\0" * 1024, {"Content-Type": "application/offset+octet-stream"}
        )
        _assert_busy_page(status, headers, page)

        # When one upload in progress goes away
        slow.pop().close()
        _wait_for_partial_blobs(blob_dir, CAP - 1)

        # Then a new one goes through to the end
        head, body = _help_request(port, HELD_BACK)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as client:
            client.sendall(head + body)
            answer = b""
            while b"</html>" not in answer and (chunk := client.recv(65536)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 "), answer[:300]
        assert b"codename" in answer
    finally:
        for client in slow:
            client.close()


def test_the_cap_leaves_threads_for_pages_with_the_default_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # The smallest server gunicorn's defaults are written for: one CPU.
    for variable in ("INTAKE_WORKERS", "INTAKE_THREADS"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0})
    try:
        settings = importlib.reload(gunicorn_settings)
        assert settings.workers * settings.threads - CAP >= settings.threads
    finally:
        monkeypatch.undo()
        importlib.reload(gunicorn_settings)


@pytest.fixture
def two_worker_front(tmp_path: Path, database_url: str) -> Iterator[Front]:
    threads = CAP // 2 + SPARE_THREADS // 2
    with (
        gunicorn(tmp_path, database_url, INTAKE_WORKERS="2", INTAKE_THREADS=str(threads)) as app_server,
        front(tmp_path, app_server) as server,
    ):
        yield server


def test_pages_answer_with_the_uploads_spread_over_workers(
    two_worker_front: Front, db_session: Session, tmp_path: Path
) -> None:
    create_readers(db_session)
    port = two_worker_front.public_port
    slow = [_start_slow_upload(port) for _ in range(CAP)]
    try:
        _wait_for_partial_blobs(tmp_path / "blobs", CAP)
        for _ in range(10):
            status, _headers, health = get(port, "/healthz")
            assert (status, health) == (200, b"ok\n")
    finally:
        for client in slow:
            client.close()


def test_the_front_image_holds_the_busy_page_where_nginx_looks() -> None:
    (aliased,) = re.findall(r"^\s*alias (\S+);", FRONT_CONFIG.read_text(), re.M)
    dockerfile = (FRONT_CONFIG.parent / "Dockerfile").read_text()
    assert f"COPY busy.html {aliased}\n" in dockerfile
    assert (FRONT_CONFIG.parent / "busy.html").read_text().startswith("<!DOCTYPE html>")
