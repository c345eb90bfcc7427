"""Fixtures shared by the lawyer and admin tests (imported by their conftest files)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from crypto import Identity
from tests.factories import LawyerFixture, create_lawyer, set_recovery_key
from tests.lawyer.helpers import log_in, totp_code

NewClient = Callable[[], FlaskClient]


@pytest.fixture
def new_client(app: Flask) -> NewClient:
    """Another browser: its own cookie jar, speaking HTTPS for the __Host- cookie."""

    def make() -> FlaskClient:
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        return client

    return make


@pytest.fixture
def recovery(db_session: Session) -> Identity:
    return set_recovery_key(db_session)


@pytest.fixture
def lawyer(db_session: Session, recovery: Identity) -> LawyerFixture:
    return create_lawyer(db_session)


@pytest.fixture
def lawyer_client(client: FlaskClient, lawyer: LawyerFixture) -> FlaskClient:
    page = log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert "Inbox" in page
    return client
