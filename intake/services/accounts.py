"""Staff accounts: invitations, enrolment and login (TOTP in `totp`, vetting in `vetting`).

Two Argon2id computations protect a staff member: the login hash
(`password_hash`, argon2-cffi's encoded form) and the key wrapping of their
age identity (`wrapped_private_key`). They use separate salts, so the login
hash reveals nothing that helps unwrap the key. TOTP seeds are sealed under a
key derived from SECRET_KEY, so a database dump alone does not yield them.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from zxcvbn import zxcvbn

from config import Config
from crypto import (
    DecryptionError,
    KdfParams,
    fingerprint,
    generate_identity,
    kdf_params_of,
    unwrap_secret,
    wrap_secret,
)
from intake.models import Invite, Role, User, UserStatus
from intake.services import audit, totp
from intake.services.clock import as_utc, utc_now
from intake.services.keyring import instance_keys, kdf_params

INVITE_LIFETIME = dt.timedelta(days=3)
ADMIN_SETUP_LIFETIME = dt.timedelta(hours=1)
MIN_PASSPHRASE_LENGTH = 12
MAX_PASSPHRASE_LENGTH = 1024
MIN_PASSPHRASE_WORDS = 5
MIN_ZXCVBN_SCORE = 3
# zxcvbn's matching grows steeply with length (400 characters took 28 s of a
# worker), so it judges only this prefix: its own default cap, which keeps
# one judgement well under a second. Any prefix it scores as safely
# unguessable is, and the word count above still looks at the whole passphrase.
ZXCVBN_MAX_CHARACTERS = 72
# Failed second factors (the right passphrase with a wrong TOTP code) an
# account may have before each further one locks it for a growing time: 30 s,
# 1 min, 2 min, … up to an hour. A wrong passphrase never counts: without the
# code it teaches a guesser nothing, and counting it would let anybody who
# knows an email lock its owner out.
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
    # Verified against for unknown emails, so they cost one Argon2 computation
    # like known ones. Random bytes in argon2's encoding: it matches no
    # passphrase, and making it costs nothing, not even on first use.
    salt, digest = (base64.b64encode(secrets.token_bytes(n)).decode().rstrip("=") for n in (16, 32))
    costs = f"m={params.memory_cost_kib},t={params.time_cost},p={params.parallelism}"
    return f"$argon2id$v=19${costs}${salt}${digest}"


def hash_passphrase(params: KdfParams, passphrase: str) -> str:
    """The login hash, over the same NFC form that key unwrapping uses."""
    return password_hasher(params).hash(_nfc(passphrase))


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
    result = zxcvbn(passphrase[:ZXCVBN_MAX_CHARACTERS], user_inputs=user_inputs)
    if result["score"] >= MIN_ZXCVBN_SCORE:
        return PassphraseVerdict(True, ())
    hints = [result["feedback"]["warning"], *result["feedback"]["suggestions"]]
    return PassphraseVerdict(False, tuple(hint for hint in hints if hint))


# Invitations and first-run setup ------------------------------------------------


def create_invite(session: Session, email: str, role: Role, inviter: User | None) -> str:
    """A one-time enrolment token (shown once, stored hashed), committed."""
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
    session.commit()
    return token


def usable_invite(session: Session, token: str) -> Invite | None:
    invite = session.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
    if invite is None or invite.used or as_utc(invite.expires_at) <= utc_now():
        return None
    return invite


@dataclass(frozen=True)
class NewRecoveryKey:
    """The public half of a recovery key just split into shares, and how it was split."""

    recipient: str
    threshold: int
    count: int


def open_admin_setup(session: Session, new_recovery: NewRecoveryKey | None) -> str:
    """First run, or a lost setup link: one commit stores the recovery key (if new) and a fresh setup token."""
    if new_recovery is not None:
        instance_keys(session).recovery_recipient = new_recovery.recipient
        audit.record(
            session, "instance.initialised", detail=f"{new_recovery.threshold}-of-{new_recovery.count}"
        )
    token = new_admin_setup_token(session)
    audit.record(session, "instance.setup_token")
    session.commit()
    return token


def new_admin_setup_token(session: Session) -> str:
    """Replace any earlier setup token with a fresh one; `open_admin_setup` commits."""
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
    step = totp.matching_totp_step(totp_secret, totp_code, utc_now())
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
        password_hash=hash_passphrase(kdf_params(config), passphrase),
        totp_secret_sealed=totp.seal_totp_secret(config.secret_key, user_id, totp_secret),
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


class CodeAlreadyUsed(Exception):
    """The passphrase was right, but this TOTP code was already used once: wait for the next."""


def log_in(session: Session, config: Config, email: str, passphrase: str, totp_code: str) -> LoggedIn | None:
    """Check passphrase and TOTP and unwrap the identity; None for every kind of failure.

    Callers show one generic message for None. Every attempt pays for exactly
    one Argon2 verification before anything else is decided, and every
    failure writes one audit row, so nobody learns from the answer or its
    timing whether an account exists, is locked, or which factor was wrong.
    The one exception, CodeAlreadyUsed (raised after the failure is counted
    and recorded), needs the right passphrase and a once-valid code.
    """
    now = utc_now()
    params = kdf_params(config)
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    spelling = _matching_spelling(
        password_hasher(params), user.password_hash if user else _decoy_hash(params), passphrase
    )
    if user is None or spelling is None or user.status not in (UserStatus.VETTED, UserStatus.PENDING):
        _record_failed_login(session, user)
        return None
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        # Checking a code now would let a passphrase holder keep guessing codes.
        _record_failed_login(session, user)
        return None
    if not totp.consume_totp(session, config, user, totp_code, now):
        _count_second_factor_failure(user, now)
        _record_failed_login(session, user)
        # Only somebody who knows the passphrase and holds a code that worked
        # before learns this; without it a lawyer just enrolled would retype
        # the code from enrolment until locked out.
        if totp.code_already_used(config, user, totp_code, now):
            raise CodeAlreadyUsed
        return None
    try:
        identity_secret = unwrap_secret(user.wrapped_private_key, passphrase, _wrap_context(user.id))
    except DecryptionError:
        _count_second_factor_failure(user, now)
        _record_failed_login(session, user)
        return None
    _upgrade_protection(config, user, passphrase, identity_secret, rehash=spelling != _nfc(passphrase))
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, "login", actor=user)
    return LoggedIn(user=user, identity_secret=identity_secret)


def _record_failed_login(session: Session, user: User | None) -> None:
    audit.record(session, "login.failed", actor=user)
    session.commit()


def _matching_spelling(hasher: PasswordHasher, password_hash: str, passphrase: str) -> str | None:
    """The form of the passphrase the hash was made from (NFC, or as typed for older hashes), or None.

    Hashes made before logins were normalised are of the passphrase as it was
    typed; trying that form second keeps them working until the next login
    renews them. Input that is already NFC costs one verification either way.
    """
    normalised = _nfc(passphrase)
    for spelling in dict.fromkeys((normalised, passphrase)):
        if _verify_quietly(hasher, password_hash, spelling):
            return spelling
    return None


def _nfc(passphrase: str) -> str:
    # The same passphrase typed on two devices may arrive composed differently.
    return unicodedata.normalize("NFC", passphrase)


def _verify_quietly(hasher: PasswordHasher, password_hash: str, passphrase: str) -> bool:
    try:
        return hasher.verify(password_hash, passphrase)
    except (VerificationError, InvalidHashError):
        return False


def _count_second_factor_failure(user: User, now: dt.datetime) -> None:
    user.failed_logins += 1
    extra_failures = user.failed_logins - FREE_LOGIN_FAILURES
    if extra_failures > 0:
        # Capping the exponent keeps the multiplication small however long an attack runs.
        lockout = FIRST_LOCKOUT * 2 ** min(extra_failures - 1, 16)
        user.locked_until = now + min(lockout, MAX_LOCKOUT)


def _upgrade_protection(
    config: Config, user: User, passphrase: str, identity_secret: str, rehash: bool
) -> None:
    """Re-hash and re-wrap under the configured costs when they were raised (or the hash is unnormalised)."""
    if rehash or password_hasher(kdf_params(config)).check_needs_rehash(user.password_hash):
        user.password_hash = hash_passphrase(kdf_params(config), passphrase)
    if kdf_params_of(user.wrapped_private_key) != kdf_params(config):
        user.wrapped_private_key = wrap_secret(
            identity_secret, passphrase, _wrap_context(user.id), kdf_params(config)
        )


def _wrap_context(user_id: uuid.UUID) -> bytes:
    return f"lawyer:{user_id}".encode()
