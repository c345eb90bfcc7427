"""The key is usable only while the cookie half and the database half meet."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config import Config
from crypto import DecryptionError, Identity, new_session_key, open_sealed
from crypto.identity import identity_secret_bytes
from intake import create_app
from intake.db import engine
from intake.models import LawyerSession, Role, User, UserStatus
from intake.services import lawyer_sessions
from intake.services.lawyer_sessions import SessionTicket
from intake.staff.access import SESSION_ID_KEY, SESSION_KEY_KEY
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import csrf_token, log_in, submit_directly, totp_code


def cookie_half(client: FlaskClient) -> SessionTicket:
    with client.session_transaction() as cookie:
        ticket = SessionTicket.from_cookie(cookie.get(SESSION_ID_KEY), cookie.get(SESSION_KEY_KEY))
    assert ticket is not None
    return ticket


def only_session(db_session: Session) -> LawyerSession:
    db_session.expire_all()
    rows = db_session.scalars(select(LawyerSession)).all()
    assert len(rows) == 1
    return rows[0]


def test_the_server_half_alone_decrypts_nothing(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, new_client: NewClient
) -> None:
    # Given a seized database with a live session row
    row = only_session(db_session)
    assert row.sealed_identity is not None
    assert lawyer.identity.secret.encode() not in row.sealed_identity
    # Then without the cookie's key it does not open
    with pytest.raises(DecryptionError):
        open_sealed(row.sealed_identity, new_session_key(), f"session:{row.id}".encode())
    # And presenting its id with a made-up key unlocks nothing (and does not log the owner out)
    thief = new_client()
    with thief.session_transaction() as cookie:
        cookie[SESSION_ID_KEY] = row.id
        cookie[SESSION_KEY_KEY] = base64.urlsafe_b64encode(new_session_key()).decode()
    response = thief.get("/lawyer/")
    assert response.status_code == 302 and response.headers["Location"].split("?")[0].endswith(
        "/lawyer/login"
    )
    assert lawyer_client.get("/lawyer/").status_code == 200


def identity_encodings(identity: Identity) -> list[str]:
    """Every form in which the identity could sit in a cookie: age text, raw bytes as hex or base64."""
    raw = identity_secret_bytes(identity.secret)
    return [
        identity.secret,
        identity.secret.lower(),
        raw.hex(),
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
    ]


def test_the_cookie_half_alone_decrypts_nothing(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, config: Config
) -> None:
    # Given a stolen cookie whose server half is gone (logout elsewhere, expiry, restart policy)
    submitted = submit_directly(db_session, config, "secret request")
    with lawyer_client.session_transaction() as cookie:
        cookie_contents = json.dumps(dict(cookie))
    ticket = cookie_half(lawyer_client)
    db_session.delete(only_session(db_session))
    db_session.commit()
    # Then the cookie opens no case page
    response = lawyer_client.get(f"/lawyer/cases/{submitted.number}")
    assert response.status_code == 302 and response.headers["Location"].split("?")[0].endswith(
        "/lawyer/login"
    )
    # and nothing in it is the identity, in any encoding: its key is not the identity's bytes
    assert ticket.session_key != identity_secret_bytes(lawyer.identity.secret)
    for encoding in identity_encodings(lawyer.identity):
        assert encoding not in cookie_contents


def test_the_two_halves_join_in_another_worker(
    lawyer_client: FlaskClient, config: Config, db_session: Session
) -> None:
    # Given a second app process sharing only the database and secret key
    other_worker: Flask = create_app(config)
    other_client = other_worker.test_client()
    other_client.environ_base["wsgi.url_scheme"] = "https"
    submitted = submit_directly(db_session, config, "read me in any worker")
    ticket = cookie_half(lawyer_client)
    with other_client.session_transaction() as cookie:
        cookie[SESSION_ID_KEY] = ticket.session_id
        cookie[SESSION_KEY_KEY] = ticket.encode_key()
    # Then it decrypts the case too
    assert "read me in any worker" in other_client.get(f"/lawyer/cases/{submitted.number}").get_data(
        as_text=True
    )
    engine(other_worker).dispose()


def test_logout_deletes_the_server_half(lawyer_client: FlaskClient, db_session: Session) -> None:
    token = csrf_token(lawyer_client.get("/lawyer/").get_data(as_text=True))
    ticket = cookie_half(lawyer_client)
    lawyer_client.post("/lawyer/logout", data={"csrf_token": token})
    assert db_session.get(LawyerSession, ticket.session_id) is None
    assert lawyer_client.get("/lawyer/").status_code == 302


@pytest.mark.parametrize(
    ("column", "age"),
    [
        ("last_seen_at", lawyer_sessions.IDLE_TIMEOUT + dt.timedelta(seconds=5)),
        ("created_at", lawyer_sessions.ABSOLUTE_TIMEOUT + dt.timedelta(seconds=5)),
    ],
)
def test_idle_and_absolute_timeouts_end_the_session(
    lawyer_client: FlaskClient, db_session: Session, column: str, age: dt.timedelta
) -> None:
    row = only_session(db_session)
    setattr(row, column, dt.datetime.now(dt.UTC) - age)
    db_session.commit()
    assert lawyer_client.get("/lawyer/").status_code == 302
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(LawyerSession)) == 0


def test_activity_keeps_an_idle_session_alive(lawyer_client: FlaskClient, db_session: Session) -> None:
    row = only_session(db_session)
    row.last_seen_at = dt.datetime.now(dt.UTC) - lawyer_sessions.IDLE_TIMEOUT + dt.timedelta(minutes=2)
    db_session.commit()
    assert lawyer_client.get("/lawyer/").status_code == 200
    db_session.refresh(row)
    assert dt.datetime.now(dt.UTC) - lawyer_sessions.as_utc(row.last_seen_at) < dt.timedelta(minutes=1)


def test_expired_rows_nobody_returned_to_are_purged_at_the_next_login(
    db_session: Session, lawyer: LawyerFixture, new_client: NewClient
) -> None:
    stale = create_lawyer(db_session, email="stale@example.org")
    ticket = lawyer_sessions.open_session(db_session, stale.user, stale.identity.secret)
    db_session.flush()
    row = db_session.get(LawyerSession, ticket.session_id)
    assert row is not None
    row.created_at = row.last_seen_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    db_session.commit()
    log_in(new_client(), lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    db_session.expire_all()
    assert db_session.get(LawyerSession, ticket.session_id) is None


def test_a_revoked_lawyers_session_dies_at_once(
    new_client: NewClient, db_session: Session, recovery: Identity
) -> None:
    # Given an admin and a logged-in lawyer
    admin = create_lawyer(db_session, email="admin@example.org", role=Role.ADMIN)
    lawyer = create_lawyer(db_session)
    admin_client, lawyer_client = new_client(), new_client()
    log_in(admin_client, admin.user.email, admin.passphrase, totp_code(admin.totp_secret, None))
    log_in(lawyer_client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert lawyer_client.get("/lawyer/").status_code == 200
    # When the admin revokes the lawyer
    page = admin_client.get(f"/admin/people/{lawyer.user.id}").get_data(as_text=True)
    admin_client.post(f"/admin/people/{lawyer.user.id}/status/revoked", data={"csrf_token": csrf_token(page)})
    # Then the lawyer's next request finds no session, and the server half is gone
    assert lawyer_client.get("/lawyer/").status_code == 302
    db_session.expire_all()
    assert (
        db_session.scalars(select(LawyerSession).where(LawyerSession.user_id == lawyer.user.id)).all() == []
    )
    revoked = db_session.get(User, lawyer.user.id)
    assert revoked is not None and revoked.status is UserStatus.REVOKED


def test_the_operator_can_end_every_session(
    app: Flask, lawyer_client: FlaskClient, db_session: Session
) -> None:
    # Given a live session, when the operator runs the restart hook
    result = app.test_cli_runner().invoke(args=["intake", "end-sessions"])
    assert result.exit_code == 0 and "ended 1 staff session" in result.output
    # Then the cookie no longer unlocks anything
    assert lawyer_client.get("/lawyer/").status_code == 302
