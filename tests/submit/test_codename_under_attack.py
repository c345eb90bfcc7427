"""Codename guessing from rotating cookies is throttled, yet the real submitter still gets in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import create_app
from intake.db import engine
from intake.submit.codename_wait import WAIT_SECONDS, WAITING_SINCE
from tests.conftest import make_config
from tests.submit.helpers import ReadersFixture
from tests.submit.multipart import codename_on, csrf_token, help_request_parts, post_parts, request_tokens

JUNK = " ".join(["abacus"] * 7)


@pytest.fixture
def guarded_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    # Two wrong codenames an hour for everybody together
    app = create_app(make_config(tmp_path, database_url, INTAKE_GLOBAL_CODENAME_RATE_LIMIT="2 per hour"))
    yield app
    engine(app).dispose()


def fresh_browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def try_codename(client: FlaskClient, codename: str) -> int:
    token = csrf_token(client, "/codename?lang=ru")
    return client.post("/codename", data={"csrf_token": token, "codename": codename}).status_code


def test_junk_guesses_cannot_lock_the_real_submitter_out(guarded_app: Flask, readers: ReadersFixture) -> None:
    submitter = fresh_browser(guarded_app)
    sent = post_parts(submitter, "/request", help_request_parts(request_tokens(submitter, "/request")))
    codename = codename_on(sent.get_data(as_text=True))
    # Given an attacker whose junk guesses from fresh cookies spent the global budget
    assert [try_codename(fresh_browser(guarded_app), JUNK) for _ in range(3)] == [400, 400, 429]
    # When the real submitter comes back in a browser that kept nothing
    returning = fresh_browser(guarded_app)
    token = csrf_token(returning, "/codename?lang=ru")
    waiting = returning.post("/codename", data={"csrf_token": token, "codename": codename})
    # Then they are asked to wait, not refused
    assert waiting.status_code == 429
    assert "Подождите минуту" in waiting.get_data(as_text=True)
    # And once they have waited, the same codename lets them in
    with returning.session_transaction() as cookie:
        cookie[WAITING_SINCE] -= WAIT_SECONDS
    response = returning.post("/codename", data={"csrf_token": token, "codename": codename})
    assert response.status_code == 302 and response.headers["Location"].endswith("/replies")


def test_a_wait_is_good_for_one_attempt_only(guarded_app: Flask, readers: ReadersFixture) -> None:
    for _ in range(2):
        try_codename(fresh_browser(guarded_app), JUNK)
    attacker = fresh_browser(guarded_app)
    assert try_codename(attacker, JUNK) == 429
    with attacker.session_transaction() as cookie:
        cookie[WAITING_SINCE] -= WAIT_SECONDS
    assert try_codename(attacker, JUNK) == 400
    assert try_codename(attacker, JUNK) == 429


def test_an_early_second_try_keeps_waiting(guarded_app: Flask, readers: ReadersFixture) -> None:
    for _ in range(2):
        try_codename(fresh_browser(guarded_app), JUNK)
    impatient = fresh_browser(guarded_app)
    assert try_codename(impatient, JUNK) == 429
    assert try_codename(impatient, JUNK) == 429
