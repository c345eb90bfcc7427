"""Uploads that must fail leave nothing behind: no row, no blob, no temp file."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from config import Config
from intake import create_app
from intake.db import engine
from intake.services.multipart_stream import READ_CHUNK_BYTES
from intake.services.submissions import upload_limits
from tests.conftest import make_config
from tests.submit.helpers import NOTHING_STORED, ReadersFixture, stored_state
from tests.submit.multipart import (
    CONTENT_TYPE,
    Text,
    Upload,
    body_bytes,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    post_stream,
    request_tokens,
)


class TruncatedBody:
    """The body as sent by a client whose connection dropped after `keep` bytes."""

    def __init__(self, body: bytes, keep: int) -> None:
        self._data = body[:keep]

    def read(self, size: int = -1) -> bytes:
        chunk, self._data = (self._data, b"") if size < 0 else (self._data[:size], self._data[size:])
        return chunk


class UnreadableBody:
    def read(self, size: int = -1) -> bytes:
        raise AssertionError("the body was read although its declared length is over the limit")


@pytest.mark.parametrize("keep_fraction", [0.3, 0.9, 0.999])
def test_a_truncated_body_stores_nothing(
    app: Flask, client: FlaskClient, readers: ReadersFixture, keep_fraction: float
) -> None:
    parts = help_request_parts(
        request_tokens(client, "/request"), files=[Upload("big.bin", bytes(5 * READ_CHUNK_BYTES))]
    )
    body = body_bytes(parts)
    response = post_stream(client, "/request", TruncatedBody(body, int(len(body) * keep_fraction)), len(body))
    assert response.status_code == 400
    assert stored_state(app) == NOTHING_STORED


def test_a_body_without_its_closing_boundary_stores_nothing(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    # A body cut off after a whole file part but before the closing boundary.
    parts = help_request_parts(request_tokens(client, "/request"), files=[Upload("a.bin", b"abc")])
    body = body_bytes(parts)
    cut = body[: body.rindex(b"--" + b"-" * 4)]
    response = post_stream(client, "/request", TruncatedBody(cut, len(cut)), len(cut))
    assert response.status_code == 400
    assert stored_state(app) == NOTHING_STORED


@pytest.mark.parametrize("token", ["missing", "wrong", "after-the-file"])
def test_a_file_without_a_valid_csrf_token_first_is_refused_before_it_is_stored(
    app: Flask, client: FlaskClient, readers: ReadersFixture, token: str
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    good = tokens.csrf
    parts = help_request_parts(tokens, files=[Upload("a.txt", b"x" * 100)])
    csrf_part = parts.pop(0)
    if token == "wrong":
        parts.insert(0, Text("csrf_token", good[:-4] + "AAAA"))
    elif token == "after-the-file":
        parts.append(csrf_part)
    response = post_parts(client, "/request", parts)
    assert response.status_code == 400
    assert "Срок действия формы истёк" in response.get_data(as_text=True)
    assert stored_state(app) == NOTHING_STORED


def test_a_form_without_files_still_needs_its_csrf_token(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    parts = help_request_parts(request_tokens(client, "/request"))[1:]
    parts = [part for part in parts if isinstance(part, Text)]
    response = post_parts(client, "/request", parts)
    assert response.status_code == 400
    assert stored_state(app) == NOTHING_STORED


def test_a_body_that_is_not_a_multipart_form_is_refused(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    response = client.post(
        "/request", data="help_kind=desertion", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert stored_state(app) == NOTHING_STORED


@pytest.fixture
def small_limits_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    config = make_config(
        tmp_path,
        database_url,
        INTAKE_MAX_FILE_BYTES=str(3 * READ_CHUNK_BYTES),
        INTAKE_MAX_SUBMISSION_BYTES=str(5 * READ_CHUNK_BYTES),
    )
    app = create_app(config)
    yield app
    engine(app).dispose()


def _client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


@pytest.mark.parametrize(
    ("sizes", "too_large"),
    [
        pytest.param([3 * READ_CHUNK_BYTES + 1, 1000], "часть-0.bin", id="one-file-over-the-file-limit"),
        pytest.param(
            [3 * READ_CHUNK_BYTES, 2 * READ_CHUNK_BYTES, 1], "часть-2.bin", id="files-together-over-the-total"
        ),
    ],
)
def test_a_file_over_a_limit_brings_the_form_back_with_every_answer_and_the_other_files_kept(
    small_limits_app: Flask, readers: ReadersFixture, sizes: list[int], too_large: str
) -> None:
    # Given a form sent without JavaScript (no size check before sending) with one file too many bytes
    client = _client(small_limits_app)
    uploads = [Upload(f"часть-{index}.bin", bytes(size)) for index, size in enumerate(sizes)]
    tokens = request_tokens(client, "/request?lang=ru")
    parts = help_request_parts(tokens, "Долгое письмо о моём сыне.", uploads, country="Армения")
    response = post_parts(client, "/request", parts)

    # Then the form comes back naming that file, with every answer as typed
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f"«{too_large}» не отправлен: он больше, чем принимает этот сервис." in page
    assert "Долгое письмо о моём сыне.</textarea>" in page
    assert 'value="Армения"' in page
    assert codename_on(page) == tokens.codename
    # And the other files wait, encrypted, to go with the corrected form
    kept = [upload.filename for upload in uploads if upload.filename != too_large]
    assert all(f"<li>{name}</li>" in page for name in kept)
    state = stored_state(small_limits_app)
    assert (state.sources, state.cases, state.items, state.attachments) == (0, 0, 0, 0)
    assert [path.parent.name for path in state.blob_files] == ["kept"] * len(kept)


def test_a_declared_length_over_the_limit_is_refused_before_reading(
    small_limits_app: Flask, readers: ReadersFixture
) -> None:
    client = _client(small_limits_app)
    csrf_token(client, "/request")
    response = post_stream(client, "/request?lang=uk", UnreadableBody(), 10 * 1024**3)
    assert response.status_code == 413
    assert "Ви надіслали більше, ніж приймає цей сервіс" in response.get_data(as_text=True)
    assert stored_state(small_limits_app) == NOTHING_STORED


def test_an_upload_the_disk_cannot_hold_is_refused_before_reading(
    tmp_path: Path, database_url: str, readers: ReadersFixture
) -> None:
    # Given limits that allow more than this disk has free
    free = shutil.disk_usage(tmp_path).free
    huge = str(free * 4)
    app = create_app(
        make_config(tmp_path, database_url, INTAKE_MAX_FILE_BYTES=huge, INTAKE_MAX_SUBMISSION_BYTES=huge)
    )
    client = _client(app)
    csrf_token(client, "/request")
    # When an upload declares more than fits
    response = post_stream(client, "/request?lang=ru", UnreadableBody(), free * 2)
    # Then it is refused with the "try later" page, unread, and nothing is stored
    assert response.status_code == 503
    assert "Сервис временно недоступен" in response.get_data(as_text=True)
    assert stored_state(app) == NOTHING_STORED
    engine(app).dispose()


@pytest.fixture
def rate_limited_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    config = make_config(
        tmp_path,
        database_url,
        INTAKE_SUBMIT_RATE_LIMIT="2 per hour",
        INTAKE_GLOBAL_SUBMIT_RATE_LIMIT="4 per hour",
    )
    app = create_app(config)
    yield app
    engine(app).dispose()


def test_too_many_submissions_get_a_429_page_that_says_when_to_retry(
    rate_limited_app: Flask, readers: ReadersFixture
) -> None:
    client = _client(rate_limited_app)
    for _ in range(2):
        response = post_parts(client, "/request", help_request_parts(request_tokens(client, "/request?lang=ru")))
        assert response.status_code == 200
    response = post_parts(client, "/request", help_request_parts(request_tokens(client, "/request")))
    page = response.get_data(as_text=True)
    assert response.status_code == 429
    assert re.search(r"Попробуйте снова примерно через 60 минут\.", page), page
    assert "Пожалуйста, немного подождите" in page
    assert "это не значит, что вы сделали что-то не так" in page
    assert "Кнопка «Назад» в браузере обычно возвращает то, что вы ввели" in page
    assert stored_state(rate_limited_app).cases == 2

    # A new browser (no cookie) has its own allowance, but the service-wide limit,
    # which counted every accepted submission so far, still holds.
    other = _client(rate_limited_app)
    for _ in range(2):
        assert post_parts(other, "/request", help_request_parts(request_tokens(other, "/request"))).status_code == 200
    third = _client(rate_limited_app)
    assert post_parts(third, "/request", help_request_parts(request_tokens(third, "/request"))).status_code == 429
    assert stored_state(rate_limited_app).cases == 4


FAILING_TRIGGER = {
    "sqlite": [
        (
            "CREATE TRIGGER intake_test_failure BEFORE INSERT ON attachments "
            "BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END"
        )
    ],
    "postgresql": [
        (
            "CREATE FUNCTION intake_test_failure() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END $$"
        ),
        (
            "CREATE TRIGGER intake_test_failure BEFORE INSERT ON attachments "
            "FOR EACH ROW EXECUTE FUNCTION intake_test_failure()"
        ),
    ],
}
REMOVE_TRIGGER = {
    "sqlite": ["DROP TRIGGER intake_test_failure"],
    "postgresql": ["DROP TRIGGER intake_test_failure ON attachments", "DROP FUNCTION intake_test_failure()"],
}


@pytest.fixture
def failing_attachment_inserts(app: Flask, config: Config) -> Iterator[None]:
    """The database really refuses the attachment rows (a trigger), as a full disk would."""
    dialect = engine(app).dialect.name
    with engine(app).begin() as connection:
        for statement in FAILING_TRIGGER[dialect]:
            connection.execute(text(statement))
    yield
    with engine(app).begin() as connection:
        for statement in REMOVE_TRIGGER[dialect]:
            connection.execute(text(statement))


def test_a_database_failure_mid_submission_leaves_no_blob_and_no_case(
    app: Flask, client: FlaskClient, readers: ReadersFixture, failing_attachment_inserts: None
) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    uploads = [Upload("один.bin", bytes(2 * READ_CHUNK_BYTES)), Upload("два.bin", b"2")]
    response = post_parts(
        client, "/request?lang=ru", help_request_parts(request_tokens(client, "/request"), files=uploads)
    )
    assert response.status_code in (500, 503)
    assert "не сохранено" in response.get_data(as_text=True)
    assert "codename" not in response.get_data(as_text=True)
    assert stored_state(app) == NOTHING_STORED


class CountedBody:
    """A body of known content whose reader counts what the server took from it."""

    def __init__(self, body: bytes) -> None:
        self._body = body
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._body) if size < 0 else self.taken + size
        chunk = self._body[self.taken : end]
        self.taken += len(chunk)
        return chunk


def test_a_body_of_unknown_length_is_cut_off_at_the_limit(small_limits_app: Flask, readers: ReadersFixture) -> None:
    # Given a server that ends the body itself (gunicorn with a chunked body: no Content-Length),
    # so the upload view reads it with no limit of Werkzeug's in between
    client = _client(small_limits_app)
    limit = upload_limits(small_limits_app.config["INTAKE"]).max_body_bytes
    file_bytes = 2 * limit
    parts = help_request_parts(request_tokens(client, "/request"), files=[Upload("big.bin", bytes(file_bytes))])
    body = CountedBody(body_bytes(parts))
    environ = {
        "wsgi.input": body,
        "wsgi.input_terminated": True,
        "HTTP_TRANSFER_ENCODING": "chunked",
        "CONTENT_TYPE": CONTENT_TYPE,
    }

    # When it sends twice the largest body a form may have
    response = client.post("/request", environ_overrides=environ)

    # Then the form stops reading one read past the limit, refuses it and keeps nothing
    assert response.status_code == 413
    assert body.taken <= limit + READ_CHUNK_BYTES
    assert stored_state(small_limits_app) == NOTHING_STORED
