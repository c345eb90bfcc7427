"""Hostile multipart bodies and headers: each is refused with a 4xx, costs no more than a form, and stores nothing."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config
from tests.lawyer.fixtures import lawyer, lawyer_client, recovery
from tests.lawyer.helpers import submit_directly
from tests.submit.helpers import NOTHING_STORED, ReadersFixture, create_readers, stored_state

__all__ = ["lawyer", "lawyer_client", "recovery"]


@pytest.fixture
def readers(db_session: Session) -> ReadersFixture:
    return create_readers(db_session)


# RFC 2231 lets a parameter name its charset: Werkzeug decodes `boundary*=`
# to any character, and a boundary outside Latin-1 was a 500 with a traceback.
NON_LATIN_BOUNDARIES = ["boundary*=utf-8''%D0%B4", "boundary*=utf-8''%FF", "boundary*=utf-8''%E2%80%94x"]


@pytest.mark.parametrize("boundary", NON_LATIN_BOUNDARIES)
@pytest.mark.parametrize("path", ["/request", "/request/encrypted"])
def test_a_boundary_no_browser_sends_is_a_400_on_the_public_uploads(
    app: Flask, client: FlaskClient, readers: ReadersFixture, path: str, boundary: str
) -> None:
    client.get("/request")
    response = client.post(path, data="--д--\r\n".encode(), content_type=f"multipart/form-data; {boundary}")
    assert response.status_code == 400
    assert stored_state(app) == NOTHING_STORED


@pytest.mark.parametrize("boundary", NON_LATIN_BOUNDARIES)
def test_a_boundary_no_browser_sends_is_a_400_on_a_lawyers_reply(
    lawyer_client: FlaskClient, db_session: Session, config: Config, boundary: str
) -> None:
    submitted = submit_directly(db_session, config, "request")
    response = lawyer_client.post(
        f"/lawyer/cases/{submitted.number}/reply",
        data="--д--\r\n".encode(),
        content_type=f"multipart/form-data; {boundary}",
    )
    assert response.status_code == 400
