"""Requests refused before their CSRF check never use up the submission budget.

A flood of bare POSTs (no cookie, no token) answered 400 used to count
against the service-wide limit, locking real submitters out for an hour.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import create_app
from intake.db import engine
from tests.conftest import make_config
from tests.submit.helpers import ReadersFixture, stored_state
from tests.submit.multipart import Text, csrf_token, help_request_parts, post_parts, request_tokens

JUNK_REQUESTS = 5


@pytest.fixture
def tight_limits_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = create_app(
        make_config(
            tmp_path,
            database_url,
            INTAKE_SUBMIT_RATE_LIMIT="2 per hour",
            INTAKE_GLOBAL_SUBMIT_RATE_LIMIT="2 per hour",
            INTAKE_GLOBAL_CODENAME_RATE_LIMIT="2 per hour",
        )
    )
    yield app
    engine(app).dispose()


def _client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def test_junk_posts_to_request_do_not_lock_out_a_real_submitter(
    tight_limits_app: Flask, readers: ReadersFixture
) -> None:
    # Given a service-wide budget of two submissions an hour, and a flood of
    # refused posts: bare ones with no cookie, and ones with a forged token
    for _ in range(JUNK_REQUESTS):
        assert _client(tight_limits_app).post("/request").status_code == 400
        forger = _client(tight_limits_app)
        csrf_token(forger, "/request")
        assert post_parts(forger, "/request", [Text("csrf_token", "forged")]).status_code == 400

    # When a real submitter sends their request
    submitter = _client(tight_limits_app)
    response = post_parts(submitter, "/request", help_request_parts(request_tokens(submitter, "/request")))

    # Then it is accepted, and accepted submissions still count against the limit
    assert response.status_code == 200
    other = _client(tight_limits_app)
    assert post_parts(other, "/request", help_request_parts(request_tokens(other, "/request"))).status_code == 200
    late = _client(tight_limits_app)
    assert post_parts(late, "/request", help_request_parts(request_tokens(late, "/request"))).status_code == 429
    assert stored_state(tight_limits_app).cases == 2


def _try_codename(client: FlaskClient, token: str) -> int:
    return client.post("/codename", data={"csrf_token": token, "codename": " ".join(["abacus"] * 7)}).status_code


def test_junk_posts_to_codename_do_not_use_up_the_login_budget(tight_limits_app: Flask) -> None:
    for _ in range(JUNK_REQUESTS):
        assert _try_codename(_client(tight_limits_app), "") == 400

    # Wrong codenames behind a valid token do count: that is the guessing the limit is for.
    client = _client(tight_limits_app)
    page = client.get("/codename").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match
    assert [_try_codename(client, match.group(1)) for _ in range(3)] == [400, 400, 429]

