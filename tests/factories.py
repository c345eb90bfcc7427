"""Build rows the way the services do, for tests that need a world to exist."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy.orm import Session

from crypto import FAST_TEST_KDF, Identity, generate_identity, wrap_secret
from intake.models import Role, User, UserStatus
from intake.services.keyring import instance_keys


@dataclass(frozen=True)
class LawyerFixture:
    user: User
    identity: Identity
    passphrase: str


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
) -> LawyerFixture:
    identity = generate_identity()
    user = User(
        email=email,
        role=role,
        status=status,
        password_hash=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(passphrase),
        totp_secret_sealed=b"",
        public_recipient=identity.recipient,
        wrapped_private_key=b"",
        failed_logins=0,
        created_day=dt.date.today(),
    )
    session.add(user)
    session.flush()
    user.wrapped_private_key = wrap_secret(identity.secret, passphrase, f"lawyer:{user.id}".encode(), FAST_TEST_KDF)
    session.commit()
    return LawyerFixture(user=user, identity=identity, passphrase=passphrase)
