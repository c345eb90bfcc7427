"""Staff accounts: invitations, enrolment, login, and vetting.

Two Argon2id computations protect a staff member: the login hash
(`password_hash`, argon2-cffi's encoded form) and the key wrapping of their
age identity (`wrapped_private_key`). They use separate salts, so the login
hash reveals nothing that helps unwrap the key. TOTP seeds are sealed under a
key derived from SECRET_KEY, so a database dump alone does not yield them.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import pyotp
import segno
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CursorResult, func, or_, select, update
from sqlalchemy.orm import Session, aliased
from zxcvbn import zxcvbn

from config import Config
from crypto import (
    DecryptionError,
    KdfParams,
    derive_subkey,
    fingerprint,
    generate_identity,
    kdf_params_of,
    open_sealed,
    seal,
    unwrap_secret,
    wrap_secret,
)
from intake.models import Case, Invite, Item, ItemRecipient, Role, User, UserStatus
from intake.services import audit
from intake.services.clock import as_utc, utc_now
from intake.services.keyring import instance_keys, kdf_params
from intake.services.lawyer_sessions import end_all_sessions

INVITE_LIFETIME = dt.timedelta(days=3)
ADMIN_SETUP_LIFETIME = dt.timedelta(hours=1)
TOTP_ISSUER = "Intake"
# pyotp's default: 6 digits every 30 seconds, which every authenticator app supports.
TOTP_DIGITS = 6
# Accept the neighbouring time steps too: phones' clocks drift.
TOTP_DRIFT_STEPS = 1
MIN_PASSPHRASE_LENGTH = 12
MAX_PASSPHRASE_LENGTH = 1024
MIN_PASSPHRASE_WORDS = 5
MIN_ZXCVBN_SCORE = 3
# Failed logins an account may make before each further one locks it for a
# growing time: 30 s, 1 min, 2 min, … up to an hour.
FREE_LOGIN_FAILURES = 3
FIRST_LOCKOUT = dt.timedelta(seconds=30)
MAX_LOCKOUT = dt.timedelta(hours=1)


class EnrolmentProblem(enum.Enum):
    EMAIL_TAKEN = "email_taken"
    WEAK_PASSPHRASE = "weak_passphrase"  # noqa: S105 — a problem code, not a secret
    WRONG_CODE = "wrong_code"


class EnrolmentError(ValueError):
    """Enrolment cannot finish; the view words `problem` in the enrollee's language."""

    def __init__(self, problem: EnrolmentProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class PassphraseVerdict:
    acceptable: bool
    feedback: tuple[str, ...]


@dataclass(frozen=True)
class LoggedIn:
    user: User
    identity_secret: str = field(repr=False)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def hash_token(token: str) -> str:
    """One-time tokens are stored hashed: a database dump cannot be used to enrol."""
    return hashlib.sha256(token.encode()).hexdigest()


@functools.cache
def password_hasher(params: KdfParams) -> PasswordHasher:
    # One set of Argon2id costs for the login hash and the key wrapping, so
    # raising them in one place upgrades both on the next login.
    return PasswordHasher(
        time_cost=params.time_cost, memory_cost=params.memory_cost_kib, parallelism=params.parallelism
    )


@functools.cache
def _decoy_hash(params: KdfParams) -> str:
    # Verified against for unknown emails, so they cost as long as known ones.
    return password_hasher(params).hash(secrets.token_urlsafe(16))


# Passphrases -----------------------------------------------------------------


def judge_passphrase(passphrase: str, user_inputs: list[str]) -> PassphraseVerdict:
    """Strong enough to resist offline guessing after a server seizure?

    Accepts either several distinct words (diceware style) or anything
    zxcvbn scores 3 ("safely unguessable") or better.
    """
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        return PassphraseVerdict(False, (f"Use at least {MIN_PASSPHRASE_LENGTH} characters.",))
    if len(passphrase) > MAX_PASSPHRASE_LENGTH:
        return PassphraseVerdict(False, (f"Use at most {MAX_PASSPHRASE_LENGTH} characters.",))
    words = {word for word in re.split(r"[\s\-_.,]+", passphrase.lower()) if len(word) >= 3}
    if len(words) >= MIN_PASSPHRASE_WORDS:
        return PassphraseVerdict(True, ())
    result = zxcvbn(passphrase, user_inputs=user_inputs, max_length=MAX_PASSPHRASE_LENGTH)
    if result["score"] >= MIN_ZXCVBN_SCORE:
        return PassphraseVerdict(True, ())
    hints = [result["feedback"]["warning"], *result["feedback"]["suggestions"]]
    return PassphraseVerdict(False, tuple(hint for hint in hints if hint))


# TOTP ------------------------------------------------------------------------


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


def _consume_totp(session: Session, config: Config, user: User, code: str, now: dt.datetime) -> bool:
    """Check a login code and mark its step used; a code never works twice."""
    try:
        totp_secret = open_sealed(
            user.totp_secret_sealed, _totp_key(config.secret_key), f"totp:{user.id}".encode()
        ).decode()
    except DecryptionError:
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


# Invitations and first-run setup ------------------------------------------------


def create_invite(session: Session, email: str, role: Role, inviter: User | None) -> str:
    """A one-time enrolment token (shown once, stored hashed); the caller commits."""
    token = secrets.token_urlsafe(32)
    session.add(
        Invite(
            token_hash=hash_token(token),
            email=normalise_email(email),
            role=role,
            expires_at=utc_now() + INVITE_LIFETIME,
            used=False,
        )
    )
    audit.record(session, "invite.created", actor=inviter, detail=role.value)
    return token


def usable_invite(session: Session, token: str) -> Invite | None:
    invite = session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
    if invite is None or invite.used or as_utc(invite.expires_at) <= utc_now():
        return None
    return invite


def new_admin_setup_token(session: Session) -> str:
    """Replace any earlier setup token with a fresh one; the caller commits."""
    token = secrets.token_urlsafe(32)
    keys = instance_keys(session)
    keys.admin_setup_token_hash = hash_token(token)
    keys.admin_setup_expires_at = utc_now() + ADMIN_SETUP_LIFETIME
    return token


def admin_setup_token_is_valid(session: Session, token: str) -> bool:
    keys = instance_keys(session)
    if keys.admin_setup_token_hash is None or keys.admin_setup_expires_at is None:
        return False
    return hmac.compare_digest(keys.admin_setup_token_hash, hash_token(token)) and (
        as_utc(keys.admin_setup_expires_at) > utc_now()
    )


def email_is_taken(session: Session, email: str) -> bool:
    return session.scalar(select(User.id).where(User.email == normalise_email(email))) is not None


# Enrolment -----------------------------------------------------------------------


def enrol_from_invite(
    session: Session, config: Config, invite: Invite, passphrase: str, totp_secret: str, totp_code: str
) -> User:
    """Create the invitee's account, pending vetting, and use up the invite."""
    user = _enrol(
        session, config, invite.email, invite.role, UserStatus.PENDING, passphrase, totp_secret, totp_code
    )
    invite.used = True
    audit.record(session, "user.enrolled", actor=user, detail=invite.role.value)
    session.commit()
    return user


def enrol_first_admin(
    session: Session, config: Config, email: str, passphrase: str, totp_secret: str, totp_code: str
) -> User:
    """The operator's own account: vetted at once, since there is nobody to vet it."""
    user = _enrol(session, config, email, Role.ADMIN, UserStatus.VETTED, passphrase, totp_secret, totp_code)
    user.vetted_day = utc_now().date()
    keys = instance_keys(session)
    keys.admin_setup_token_hash = None
    keys.admin_setup_expires_at = None
    audit.record(session, "admin.setup", actor=user)
    session.commit()
    return user


def _enrol(
    session: Session,
    config: Config,
    email: str,
    role: Role,
    status: UserStatus,
    passphrase: str,
    totp_secret: str,
    totp_code: str,
) -> User:
    email = normalise_email(email)
    if email_is_taken(session, email):
        raise EnrolmentError(EnrolmentProblem.EMAIL_TAKEN)
    if not judge_passphrase(passphrase, [email]).acceptable:
        raise EnrolmentError(EnrolmentProblem.WEAK_PASSPHRASE)
    step = matching_totp_step(totp_secret, totp_code, utc_now())
    if step is None:
        raise EnrolmentError(EnrolmentProblem.WRONG_CODE)
    identity = generate_identity()
    # The id is chosen up front: it is bound into the wrapped key and the sealed seed.
    user_id = uuid.uuid4()
    user = User(
        id=user_id,
        email=email,
        role=role,
        status=status,
        password_hash=password_hasher(kdf_params(config)).hash(passphrase),
        totp_secret_sealed=seal_totp_secret(config.secret_key, user_id, totp_secret),
        # The confirmation code is spent: it cannot be replayed to log in.
        totp_last_step=step,
        public_recipient=identity.recipient,
        wrapped_private_key=wrap_secret(
            identity.secret, passphrase, _wrap_context(user_id), kdf_params(config)
        ),
        failed_logins=0,
        created_day=utc_now().date(),
    )
    session.add(user)
    # Audit rows refer to the user by foreign key without a relationship, so
    # the unit of work cannot order them: insert the user first.
    session.flush()
    return user


def key_fingerprint(user: User) -> str:
    return fingerprint(user.public_recipient)


# Login --------------------------------------------------------------------------------


def log_in(session: Session, config: Config, email: str, passphrase: str, totp_code: str) -> LoggedIn | None:
    """Check passphrase and TOTP and unwrap the identity; None for every kind of failure.

    Callers show one generic message for None, so nobody learns whether an
    account exists, is locked, or which factor was wrong.
    """
    now = utc_now()
    hasher = password_hasher(kdf_params(config))
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        _verify_quietly(hasher, _decoy_hash(kdf_params(config)), passphrase)
        return None
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        return None
    if user.status not in (UserStatus.VETTED, UserStatus.PENDING):
        _verify_quietly(hasher, user.password_hash, passphrase)
        return None
    if not _verify_quietly(hasher, user.password_hash, passphrase) or not _consume_totp(
        session, config, user, totp_code, now
    ):
        _record_failure(user, now)
        audit.record(session, "login.failed", actor=user)
        session.commit()
        return None
    try:
        identity_secret = unwrap_secret(user.wrapped_private_key, passphrase, _wrap_context(user.id))
    except DecryptionError:
        _record_failure(user, now)
        session.commit()
        return None
    _upgrade_protection(config, user, passphrase, identity_secret)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, "login", actor=user)
    return LoggedIn(user=user, identity_secret=identity_secret)


def _verify_quietly(hasher: PasswordHasher, password_hash: str, passphrase: str) -> bool:
    try:
        return hasher.verify(password_hash, passphrase)
    except (VerificationError, InvalidHashError):
        return False


def _record_failure(user: User, now: dt.datetime) -> None:
    user.failed_logins += 1
    extra_failures = user.failed_logins - FREE_LOGIN_FAILURES
    if extra_failures > 0:
        # Capping the exponent keeps the multiplication small however long an attack runs.
        lockout = FIRST_LOCKOUT * 2 ** min(extra_failures - 1, 16)
        user.locked_until = now + min(lockout, MAX_LOCKOUT)


def _upgrade_protection(config: Config, user: User, passphrase: str, identity_secret: str) -> None:
    """Re-hash and re-wrap under the configured costs when they were raised."""
    hasher = password_hasher(kdf_params(config))
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(passphrase)
    if kdf_params_of(user.wrapped_private_key) != kdf_params(config):
        user.wrapped_private_key = wrap_secret(
            identity_secret, passphrase, _wrap_context(user.id), kdf_params(config)
        )


def _wrap_context(user_id: uuid.UUID) -> bytes:
    return f"lawyer:{user_id}".encode()


# Vetting ------------------------------------------------------------------------------


# Revocation is final: a revoked person who comes back is invited afresh and vetted again.
ALLOWED_TRANSITIONS: dict[UserStatus, frozenset[UserStatus]] = {
    UserStatus.PENDING: frozenset({UserStatus.VETTED, UserStatus.REVOKED}),
    UserStatus.VETTED: frozenset({UserStatus.SUSPENDED, UserStatus.REVOKED}),
    UserStatus.SUSPENDED: frozenset({UserStatus.VETTED, UserStatus.REVOKED}),
    UserStatus.REVOKED: frozenset(),
}


def staff_by_status(session: Session) -> dict[UserStatus, list[User]]:
    users = session.scalars(select(User).order_by(User.email))
    grouped: dict[UserStatus, list[User]] = {status: [] for status in UserStatus}
    for user in users:
        grouped[user.status].append(user)
    return grouped


def change_status(session: Session, admin: User, user: User, new_status: UserStatus) -> None:
    """Approve, suspend, reinstate or revoke; leaving VETTED ends every session at once."""
    allowed = ALLOWED_TRANSITIONS.get(user.status, frozenset())
    if new_status not in allowed:
        raise ValueError(f"cannot go from {user.status.value} to {new_status.value}")
    if user.id == admin.id:
        raise ValueError("admins cannot change their own status")
    user.status = new_status
    if new_status is UserStatus.VETTED and user.vetted_day is None:
        user.vetted_day = utc_now().date()
    if new_status in (UserStatus.SUSPENDED, UserStatus.REVOKED):
        end_all_sessions(session, user.id)
    audit.record(session, f"user.{new_status.value}", actor=admin, detail=str(user.id))
    session.commit()


def cases_only_readable_by(session: Session, user: User) -> list[int]:
    """Numbers of cases with an item no other vetted lawyer can decrypt.

    Only the recovery trustees could still read those items once this user
    is gone, so admins see the list before suspending or revoking.
    """
    other = aliased(ItemRecipient)
    other_user = aliased(User)
    readable_by_someone_else = (
        select(other.item_id)
        .join(other_user, other_user.id == other.user_id)
        .where(other.item_id == Item.id, other.user_id != user.id, other_user.status == UserStatus.VETTED)
        .exists()
    )
    query = (
        select(Case.number)
        .join(Item, Item.case_id == Case.id)
        .join(ItemRecipient, ItemRecipient.item_id == Item.id)
        .where(ItemRecipient.user_id == user.id, ~readable_by_someone_else)
        .group_by(Case.number)
        .order_by(Case.number)
    )
    return list(session.scalars(query))


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN)) or 0
