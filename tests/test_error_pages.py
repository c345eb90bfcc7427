"""Error pages explain what to do, in the visitor's language, and leak nothing."""

from __future__ import annotations

import dataclasses

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from intake import security
from intake.db import session_factory


def test_unknown_page_is_a_plain_404(client: FlaskClient) -> None:
    response = client.get("/does-not-exist")
    assert response.status_code == 404
    assert b"Traceback" not in response.data


def test_staff_pages_are_denied_by_default(app: Flask, client: FlaskClient) -> None:
    # Any endpoint outside the public allowlist needs a staff session.
    @app.get("/__probe")
    def probe() -> str:
        return "secret"

    response = client.get("/__probe")
    assert response.status_code in (302, 403)
    assert b"secret" not in response.data


def test_internal_error_shows_a_page_without_details(app: Flask, client: FlaskClient) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/__boom")
    def boom() -> str:
        raise RuntimeError("marker-in-exception-message")

    # This app only: the allowlist belongs to each app, never to the module.
    rules = app.extensions[security.ACCESS_RULES_KEY]
    app.extensions[security.ACCESS_RULES_KEY] = dataclasses.replace(
        rules, public_endpoints=rules.public_endpoints | {"boom"}
    )
    response = client.get("/__boom")
    assert response.status_code == 500
    assert b"marker-in-exception-message" not in response.data
    assert b"RuntimeError" not in response.data


def test_database_down_gives_503_and_says_nothing_was_saved(app: Flask, client: FlaskClient) -> None:
    # Given a database that refuses connections
    bad_factory = session_factory(app)
    bad_factory.configure(bind=create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.data == b"unavailable\n"


def test_healthz_says_ok_and_nothing_else(client: FlaskClient, app: Flask) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.data == b"ok\n"
    with session_factory(app)() as session:
        assert session.execute(text("SELECT 1")).scalar() == 1
