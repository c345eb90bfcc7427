"""A codename typed anywhere counts against the same limits as on the codename page.

The follow-up form asks for the codename when the session ended while it was
written; that resume path derives the codename's keys like a login, so it
spends the same per-client and global budgets (only after its CSRF check),
and when they are spent the message stays on the page, nothing lost.
"""

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
from tests.submit.helpers import ReadersFixture, stored_state
from tests.submit.multipart import Text, Upload, csrf_token, post_parts
from tests.submit.test_codename_delivery import fresh_client
from tests.submit.test_returning_submitter import submit

WRONG = " ".join(["абажур"] * 8)
MESSAGE = "Пишу ещё раз: сына перевели в другую часть."


def limited_app(tmp_path: Path, database_url: str, **limits: str) -> Iterator[Flask]:
    app = create_app(make_config(tmp_path, database_url, **limits))
    yield app
    engine(app).dispose()


@pytest.fixture
def per_client_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    yield from limited_app(tmp_path, database_url, INTAKE_LOGIN_RATE_LIMIT="2 per hour")


@pytest.fixture
def global_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    yield from limited_app(tmp_path, database_url, INTAKE_GLOBAL_CODENAME_RATE_LIMIT="2 per hour")


def resume(client: FlaskClient, codename: str, token: str | None = None) -> tuple[int, str]:
    """A follow-up posted without a session, with the codename typed on the resume page."""
    parts = [
        Text("csrf_token", token if token is not None else csrf_token(client, "/codename?lang=ru")),
        Text("codename", codename),
        Text("message", MESSAGE),
        Upload("", b""),
    ]
    response = post_parts(client, "/replies?lang=ru", parts)
    return response.status_code, response.get_data(as_text=True)


def try_codename_page(client: FlaskClient, codename: str) -> int:
    token = csrf_token(client, "/codename?lang=ru")
    return client.post("/codename", data={"csrf_token": token, "codename": codename}).status_code


def test_codenames_typed_on_the_resume_page_count_against_the_client_limit(
    per_client_app: Flask, readers: ReadersFixture
) -> None:
    codename = submit(fresh_client(per_client_app))
    guesser = fresh_client(per_client_app)

    # Two wrong codenames from one browser, then the budget is spent
    assert [resume(guesser, WRONG)[0] for _ in range(2)] == [401, 401]
    status, page = resume(guesser, codename)

    # The right codename is not even tried now, and the message is still on the page
    assert status == 429
    assert "Ваше сообщение ещё не отправлено" in page
    assert f"{MESSAGE}</textarea>" in page
    assert stored_state(per_client_app).items == 1
    # The codename page shares the budget
    assert try_codename_page(guesser, codename) == 429


def test_the_resume_page_and_the_codename_page_share_the_global_budget(
    global_app: Flask, readers: ReadersFixture
) -> None:
    codename = submit(fresh_client(global_app))
    # Wrong codenames on the resume page, each from a fresh browser, spend the global budget
    assert [resume(fresh_client(global_app), WRONG)[0] for _ in range(2)] == [401, 401]
    assert try_codename_page(fresh_client(global_app), WRONG) == 429

    # The real submitter on the resume page is asked to wait, with the message kept
    returning = fresh_client(global_app)
    token = csrf_token(returning, "/codename?lang=ru")
    status, page = resume(returning, codename, token)
    assert status == 429
    assert "Подождите минуту" in page
    assert f"{MESSAGE}</textarea>" in page

    # And once they have waited, the codename sends the message
    with returning.session_transaction() as cookie:
        cookie[WAITING_SINCE] -= WAIT_SECONDS
    status, _page = resume(returning, codename, token)
    assert status == 302
    assert stored_state(global_app).items == 2


def test_resume_posts_refused_by_their_csrf_check_spend_no_budget(
    global_app: Flask, readers: ReadersFixture
) -> None:
    for _ in range(5):
        assert resume(fresh_client(global_app), WRONG, token="forged")[0] == 400
    assert try_codename_page(fresh_client(global_app), WRONG) == 400
