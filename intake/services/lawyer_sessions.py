"""Split-custody unlock: half of a lawyer's key in the database, half in their cookie.

On login the lawyer's age identity is sealed under a fresh random session
key. The database keeps only that sealed blob (`LawyerSession.sealed_identity`);
the session key and the session id travel only in the lawyer's cookie. Each
request joins the two in memory. A seized database, or a stolen cookie whose
row is gone, decrypts nothing. Every worker and replica can serve every
request because nothing lives in process memory between requests.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.orm import Session

from crypto import DecryptionError, Identity, identity_from_secret, new_session_key, open_sealed, seal
from intake.models import LawyerSession, User, UserStatus
from intake.services import audit
from intake.services.clock import as_utc, utc_now
from intake.services.opened_summaries import OPENED_SUMMARIES

IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=8)
# Refreshing last_seen_at on every request would turn every page view into a
# write; a minute of slack on a 30-minute idle timeout is immaterial.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)
# Statuses whose holders may keep a session: pending users may log in to see
# their fingerprint and wait for vetting, but never see a case.
SESSION_STATUSES = frozenset({UserStatus.VETTED, UserStatus.PENDING})


@dataclass(frozen=True)
class SessionTicket:
    """The cookie half: what the browser must present to use the server half."""

    session_id: str
    session_key: bytes = field(repr=False)

    def encode_key(self) -> str:
        return base64.urlsafe_b64encode(self.session_key).decode("ascii")

    @classmethod
    def from_cookie(cls, session_id: object, encoded_key: object) -> SessionTicket | None:
        if not isinstance(session_id, str) or not isinstance(encoded_key, str):
            return None
        try:
            key = base64.urlsafe_b64decode(encoded_key.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            return None
        return cls(session_id=session_id, session_key=key)


@dataclass(frozen=True)
class UnlockedSession:
    """A live session for one request: the user and their identity, joined in memory."""

    session_id: str
    user: User
    identity: Identity = field(repr=False)


def start_session(session: Session, user: User, identity_secret: str) -> SessionTicket:
    """After a successful login: drop stale server halves, store this one, commit.

    Returns the ticket for the cookie.
    """
    purge_expired_sessions(session)
    ticket = open_session(session, user, identity_secret)
    session.commit()
    return ticket


def log_out(session: Session, session_id: str, user: User, identity: Identity) -> None:
    """End the session, and forget in this process what the lawyer's key opened."""
    end_session(session, session_id)
    audit.record(session, "logout", actor=user)
    session.commit()
    OPENED_SUMMARIES.forget(identity)


def open_session(session: Session, user: User, identity_secret: str) -> SessionTicket:
    """Store the sealed identity and return the ticket for the cookie; `start_session` commits."""
    now = utc_now()
    ticket = SessionTicket(session_id=secrets.token_urlsafe(32), session_key=new_session_key())
    session.add(
        LawyerSession(
            id=ticket.session_id,
            user_id=user.id,
            sealed_identity=seal(identity_secret.encode(), ticket.session_key, _context(ticket.session_id)),
            created_at=now,
            last_seen_at=now,
        )
    )
    return ticket


def resume_session(session: Session, ticket: SessionTicket) -> UnlockedSession | None:
    """Join the cookie half with the server half, or None if either is missing or stale.

    Expired sessions and sessions of users who lost access are deleted here,
    so their server half is gone even if nobody logs out.
    """
    row = session.get(LawyerSession, ticket.session_id)
    if row is None or row.sealed_identity is None:
        return None
    user = session.get(User, row.user_id)
    now = utc_now()
    if (
        user is None
        or user.status not in SESSION_STATUSES
        or now - as_utc(row.last_seen_at) > IDLE_TIMEOUT
        or now - as_utc(row.created_at) > ABSOLUTE_TIMEOUT
    ):
        session.delete(row)
        session.commit()
        return None
    try:
        identity = identity_from_secret(
            open_sealed(row.sealed_identity, ticket.session_key, _context(row.id)).decode()
        )
    except (DecryptionError, ValueError):
        # A wrong key proves nothing about who sent it, so the row stays:
        # deleting it would let anybody who learns a session id log its owner out.
        return None
    if now - as_utc(row.last_seen_at) > LAST_SEEN_RESOLUTION:
        row.last_seen_at = now
        session.commit()
    return UnlockedSession(session_id=row.id, user=user, identity=identity)


def end_session(session: Session, session_id: str) -> None:
    session.execute(delete(LawyerSession).where(LawyerSession.id == session_id))


def end_all_sessions(session: Session, user_id: uuid.UUID) -> None:
    session.execute(delete(LawyerSession).where(LawyerSession.user_id == user_id))


def end_every_session(session: Session) -> int:
    """Delete every server half (operator command); returns how many there were."""
    ended = cast(CursorResult[Any], session.execute(delete(LawyerSession)))
    return ended.rowcount


def end_every_session_and_record(session: Session) -> int:
    """Restart policy and operator command: lock every key, audit it, commit."""
    ended = end_every_session(session)
    audit.record(session, "sessions.ended_all", detail=str(ended))
    session.commit()
    return ended


def purge_expired_sessions(session: Session) -> None:
    """Delete every server half past its timeouts, including those nobody came back to."""
    now = utc_now()
    session.execute(
        delete(LawyerSession).where(
            (LawyerSession.last_seen_at < now - IDLE_TIMEOUT)
            | (LawyerSession.created_at < now - ABSOLUTE_TIMEOUT)
        )
    )


def _context(session_id: str) -> bytes:
    return f"session:{session_id}".encode()
