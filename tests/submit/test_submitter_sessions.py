"""A submitter's session ends for every copy of the cookie, and cannot be forged with SECRET_KEY."""

from __future__ import annotations

import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import generate_identity
from intake.models import Source
from intake.services.sources import SOURCE_SESSION_MAX_SECONDS, SourceLogin, remember_login
from tests.conftest import TEST_SECRET
from tests.submit.helpers import ReadersFixture
from tests.submit.test_returning_submitter import log_in, submit


def another_browser(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def copy_cookie(source: FlaskClient, target: FlaskClient) -> None:
    with source.session_transaction() as original, target.session_transaction() as copy:
        copy.update(original)


def test_logout_ends_every_copy_of_the_cookie(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    # Given a logged-in submitter whose cookie was copied (a seized phone, a shared computer)
    log_in(client, submit(client))
    thief = another_browser(app)
    copy_cookie(client, thief)
    assert thief.get("/replies").status_code == 200
    # When the submitter logs out
    page = client.get("/replies").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    # Then the copy opens nothing either
    assert thief.get("/replies").status_code == 302
    # And the submitter can still come back with the codename
    assert client.get("/replies").status_code == 302


def test_a_session_in_use_still_ends_after_its_absolute_lifetime(
    client: FlaskClient, readers: ReadersFixture
) -> None:
    # Given a session whose every page view pushed its idle expiry out
    log_in(client, submit(client))
    with client.session_transaction() as cookie:
        cookie["source_expires"] = int(time.time()) + 3600
        cookie["source_issued"] = int(time.time()) - SOURCE_SESSION_MAX_SECONDS - 1
    # Then past the absolute lifetime it opens nothing
    assert client.get("/replies").status_code == 302


def test_a_session_forged_with_the_secret_key_is_refused(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given an adversary with SECRET_KEY and the database (a seized server) but not the codename
    submit(client)
    source_id = db_session.scalars(select(Source.id)).one()
    forger = another_browser(app)
    with forger.session_transaction() as cookie:
        remember_login(db_session, cookie, TEST_SECRET.encode(), SourceLogin(source_id, generate_identity()))
    # Then the made-up identity is not the case's: no replies page, no way to post as the submitter
    assert forger.get("/replies").status_code == 302
