"""Only the streamed upload routes take files or large bodies; nothing is ever spooled.

Werkzeug's default form parser keeps a file part in memory up to 500 KB and
then rolls it over to a temp file: plaintext on disk. Linux opens those with
O_TMPFILE, so no name ever appears in the directory; this process's open file
descriptors show them, so the request body itself looks while it is read.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from intake.request_limits import FORM_BODY_LIMIT
from tests.submit.multipart import CONTENT_TYPE, BodyStream, Text, Upload, body_length, csrf_token

FILE_BYTES = 20 * 1024 * 1024


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    yield directory


def _open_files_under(directory: Path) -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            targets.append(target)
    return targets


class WatchedBody:
    """A multipart body that counts what was read and looks for temp files while it is read."""

    def __init__(self, parts: list[Text | Upload], temp_dir: Path) -> None:
        self._body = BodyStream(parts)
        self._temp_dir = temp_dir
        self.bytes_read = 0
        self.temp_files_seen: list[str] = []

    def read(self, size: int = -1) -> bytes:
        self.temp_files_seen += _open_files_under(self._temp_dir)
        chunk = self._body.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _zeros(total: int) -> Iterator[bytes]:
    for _ in range(total // 65536):
        yield bytes(65536)


def _parts(client: FlaskClient, form_page: str) -> list[Text | Upload]:
    return [
        Text("csrf_token", csrf_token(client, form_page)),
        Upload("evidence.bin", _zeros(FILE_BYTES), size=FILE_BYTES, name="codename"),
    ]


@pytest.mark.parametrize(("form_page", "target"), [("/codename", "/logout"), ("/codename", "/codename")])
def test_a_large_body_is_refused_by_its_length_before_it_is_read(
    client: FlaskClient, temp_dir: Path, form_page: str, target: str
) -> None:
    # Given a 20 MB file part posted to a form route, with its length announced
    parts = _parts(client, form_page)
    length = body_length(parts)
    body = WatchedBody(parts, temp_dir)
    environ = {"wsgi.input": body, "CONTENT_LENGTH": str(length), "CONTENT_TYPE": CONTENT_TYPE}
    response = client.post(target, environ_overrides=environ)
    # Then it is refused by its size, unread
    assert response.status_code == 413
    assert body.bytes_read == 0
    assert body.temp_files_seen == []


@pytest.mark.parametrize("target", ["/logout", "/codename", "/lawyer/login"])
def test_a_file_part_without_a_length_is_refused_and_never_spooled(
    client: FlaskClient, temp_dir: Path, target: str
) -> None:
    # Given a chunked body (no Content-Length) whose file part is larger than
    # Werkzeug's in-memory threshold but smaller than the form body limit
    parts: list[Text | Upload] = [
        Text("csrf_token", csrf_token(client, "/codename")),
        Upload("evidence.bin", _zeros(768 * 1024), size=768 * 1024, name="codename"),
    ]
    body = WatchedBody(parts, temp_dir)
    environ = {"wsgi.input": body, "wsgi.input_terminated": True, "CONTENT_TYPE": CONTENT_TYPE}
    response = client.post(target, environ_overrides=environ, headers={"Transfer-Encoding": "chunked"})
    # Then the file part is refused where it starts, and nothing reached the temp dir
    assert response.status_code in (400, 413)
    assert body.temp_files_seen == []
    assert body.bytes_read < 768 * 1024
    assert list(temp_dir.iterdir()) == []


def test_a_long_chunked_form_body_is_cut_off(client: FlaskClient, temp_dir: Path) -> None:
    # Given a chunked url-encoded body far larger than any form needs
    chunks = iter([b"codename=", *(b"a" * 65536 for _ in range(FILE_BYTES // 65536))])

    class Chunks:
        bytes_read = 0

        def read(self, size: int = -1) -> bytes:
            chunk = next(chunks, b"")
            Chunks.bytes_read += len(chunk)
            return chunk

    environ = {
        "wsgi.input": Chunks(),
        "wsgi.input_terminated": True,
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
    }
    response = client.post("/codename", environ_overrides=environ, headers={"Transfer-Encoding": "chunked"})
    # Then reading stops at the limit (Werkzeug treats the cut-off body as
    # the whole body, which then fails the form's checks)
    assert response.status_code in (400, 413)
    assert Chunks.bytes_read <= FORM_BODY_LIMIT + 65536


def test_normal_forms_still_work(client: FlaskClient) -> None:
    token = csrf_token(client, "/codename")
    response = client.post("/codename", data={"csrf_token": token, "codename": "не кодовое имя " * 400})
    assert response.status_code == 400
    assert "codename" in response.get_data(as_text=True)
