"""TOTP for staff logins: seeds sealed at rest, codes checked once.

Seeds are sealed under a key derived from SECRET_KEY and bound to their user
(or, during enrolment, to the enrolment token), so a database dump alone does
not yield them; a code's time step is recorded so no code works twice.
"""

from __future__ import annotations

import datetime as dt
import hmac
import uuid
from typing import Any, cast

import pyotp
import segno
from sqlalchemy import CursorResult, or_, update
from sqlalchemy.orm import Session

from config import Config
from crypto import DecryptionError, derive_subkey, open_sealed, seal
from intake.models import User

TOTP_ISSUER = "Intake"
# pyotp's default: 6 digits every 30 seconds, which every authenticator app supports.
TOTP_DIGITS = 6
# Accept the neighbouring time steps too: phones' clocks drift.
TOTP_DRIFT_STEPS = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_qr_data_uri(totp_secret: str, email: str) -> str:
    """A PNG QR code as a data: URI, so it needs no route and no inline style.

    PNG, not SVG: Tor Browser's Safest mode disables SVG images, and staff
    may well use that mode too.
    """
    uri = pyotp.TOTP(totp_secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)
    return segno.make(uri, error="m").png_data_uri(scale=5, border=2)


def seal_totp_secret(secret_key: bytes, user_id: uuid.UUID, totp_secret: str) -> bytes:
    """The seed at rest, under a key derived from SECRET_KEY and bound to its user."""
    return seal(totp_secret.encode(), _totp_key(secret_key), f"totp:{user_id}".encode())


def seal_enrolment_totp(config: Config, enrolment_id: str, totp_secret: str) -> bytes:
    """The seed shown during enrolment, kept in the enrollee's cookie until they confirm it."""
    return seal(totp_secret.encode(), _totp_key(config.secret_key), f"totp-enrolment:{enrolment_id}".encode())


def open_enrolment_totp(config: Config, enrolment_id: str, sealed: bytes) -> str | None:
    try:
        return open_sealed(
            sealed, _totp_key(config.secret_key), f"totp-enrolment:{enrolment_id}".encode()
        ).decode()
    except DecryptionError:
        return None


def matching_totp_step(totp_secret: str, code: str, now: dt.datetime) -> int | None:
    """The time step whose code `code` is (allowing for drift), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != TOTP_DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(totp_secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _user_totp_secret(config: Config, user: User) -> str | None:
    try:
        return open_sealed(
            user.totp_secret_sealed, _totp_key(config.secret_key), f"totp:{user.id}".encode()
        ).decode()
    except DecryptionError:
        return None


def code_already_used(config: Config, user: User, code: str, now: dt.datetime) -> bool:
    """A right code whose time step was already used (typically the one typed at enrolment)."""
    totp_secret = _user_totp_secret(config, user)
    if totp_secret is None or user.totp_last_step is None:
        return False
    step = matching_totp_step(totp_secret, code, now)
    return step is not None and step <= user.totp_last_step


def consume_totp(session: Session, config: Config, user: User, code: str, now: dt.datetime) -> bool:
    """Check a login code and mark its step used; a code never works twice."""
    totp_secret = _user_totp_secret(config, user)
    if totp_secret is None:
        return False
    step = matching_totp_step(totp_secret, code, now)
    if step is None:
        return False
    # A conditional UPDATE, so two workers racing with the same code cannot both win.
    consumed = cast(
        CursorResult[Any],
        session.execute(
            update(User)
            .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step)
            .execution_options(synchronize_session="fetch")
        ),
    )
    return consumed.rowcount == 1


def _totp_key(secret_key: bytes) -> bytes:
    return derive_subkey(secret_key, "totp")
