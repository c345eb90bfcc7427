"""Build rows the way the services do, for tests that need a world to exist."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crypto import FAST_TEST_KDF, Identity, generate_identity, wrap_secret
from intake.models import Role, User, UserStatus
from intake.services.accounts import hash_passphrase
from intake.services.keyring import instance_keys
from intake.services.totp import new_totp_secret, seal_totp_secret
from tests.conftest import TEST_SECRET


@dataclass(frozen=True)
class LawyerFixture:
    user: User
    identity: Identity
    passphrase: str
    totp_secret: str


def source_rows(count: int, day: dt.date) -> list[dict[str, object]]:
    """`count` sources for a bulk insert of cases: nobody can log in with them or be replied to."""
    return [
        {"id": uuid.uuid4(), "codename_lookup_id": uuid.uuid4().hex, "reply_recipient": "age1x", "created_day": day}
        for _ in range(count)
    ]


def set_recovery_key(session: Session) -> Identity:
    recovery = generate_identity()
    instance_keys(session).recovery_recipient = recovery.recipient
    session.commit()
    return recovery


def create_lawyer(
    session: Session,
    email: str = "lawyer@example.org",
    passphrase: str = "correct horse battery staple orbit",
    status: UserStatus = UserStatus.VETTED,
    role: Role = Role.LAWYER,
    secret_key: bytes = TEST_SECRET.encode(),
) -> LawyerFixture:
    """A user as enrolment leaves them (then vetted, unless `status` says otherwise)."""
    identity = generate_identity()
    totp_secret = new_totp_secret()
    user_id = uuid.uuid4()
    today = dt.date.today()
    user = User(
        id=user_id,
        email=email,
        role=role,
        status=status,
        password_hash=hash_passphrase(FAST_TEST_KDF, passphrase),
        totp_secret_sealed=seal_totp_secret(secret_key, user_id, totp_secret),
        public_recipient=identity.recipient,
        wrapped_private_key=wrap_secret(
            identity.secret, passphrase, f"lawyer:{user_id}".encode(), FAST_TEST_KDF
        ),
        failed_logins=0,
        created_day=today,
        vetted_day=today if status is UserStatus.VETTED else None,
    )
    session.add(user)
    session.commit()
    return LawyerFixture(user=user, identity=identity, passphrase=passphrase, totp_secret=totp_secret)
