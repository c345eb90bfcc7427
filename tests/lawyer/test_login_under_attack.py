"""Login under attack: no account can be told apart, and Argon2 work has a global budget."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import argon2
import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

import crypto.kdf
from intake import create_app
from intake.db import engine
from intake.models import UserStatus
from tests.conftest import make_config
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import csrf_token, totp_code


class Argon2Counter:
    """Counts real Argon2 computations (login hashes and key unwrapping) while they run."""

    def __init__(self) -> None:
        self.calls = 0

    def counting(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                result = real(*args, **kwargs)
            except argon2.exceptions.InvalidHashError:
                # Refused while parsing the hash: no Argon2 work was done.
                raise
            except argon2.exceptions.VerificationError:
                self.calls += 1
                raise
            self.calls += 1
            return result

        return wrapper


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Argon2Counter]:
    counter = Argon2Counter()
    monkeypatch.setattr(argon2.PasswordHasher, "verify", counter.counting(argon2.PasswordHasher.verify))
    monkeypatch.setattr(argon2.PasswordHasher, "hash", counter.counting(argon2.PasswordHasher.hash))
    monkeypatch.setattr(crypto.kdf, "hash_secret_raw", counter.counting(crypto.kdf.hash_secret_raw))
    yield counter


def attempt(client: FlaskClient, email: str, passphrase: str, code: str) -> tuple[int, str]:
    page = client.get("/lawyer/login").get_data(as_text=True)
    response = client.post(
        "/lawyer/login",
        data={"csrf_token": csrf_token(page), "email": email, "passphrase": passphrase, "totp_code": code},
    )
    # The only per-request difference a page may have is its fresh CSRF token.
    return response.status_code, re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))


def test_known_unknown_locked_and_suspended_accounts_look_and_cost_the_same(
    db_session: Session, lawyer: LawyerFixture, new_client: NewClient, argon2_calls: Argon2Counter
) -> None:
    # Given a locked account and a suspended one, both asked with their right passphrase and code
    locked = create_lawyer(db_session, email="locked@example.org")
    locked.user.failed_logins = 10
    locked.user.locked_until = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    suspended = create_lawyer(db_session, email="suspended@example.org", status=UserStatus.SUSPENDED)
    db_session.commit()
    right_code = totp_code(lawyer.totp_secret, None)
    wrong_code = f"{(int(right_code) + 500_000) % 1_000_000:06d}"
    attempts = {
        "unknown email": ("nobody@example.org", lawyer.passphrase, right_code),
        "wrong passphrase": (lawyer.user.email, "wrong " + lawyer.passphrase, right_code),
        "wrong code": (lawyer.user.email, lawyer.passphrase, wrong_code),
        "locked": (locked.user.email, locked.passphrase, totp_code(locked.totp_secret, None)),
        "suspended": (suspended.user.email, suspended.passphrase, totp_code(suspended.totp_secret, None)),
    }
    answers = {}
    work = {}
    for name, (email, passphrase, code) in attempts.items():
        client = new_client()
        before = argon2_calls.calls
        answers[name] = attempt(client, email, passphrase, code)
        work[name] = argon2_calls.calls - before
    # Then every one gets the same page, and every one paid for exactly one Argon2 computation
    assert len(set(answers.values())) == 1, answers.keys()
    assert next(iter(answers.values()))[0] == 200
    assert work == dict.fromkeys(attempts, 1)


def test_a_global_limit_caps_logins_from_fresh_browsers(
    tmp_path: Path, database_url: str, argon2_calls: Argon2Counter
) -> None:
    # Given an instance that answers two logins an hour in all, whoever asks
    app = create_app(make_config(tmp_path, database_url, INTAKE_GLOBAL_LOGIN_RATE_LIMIT="2 per hour"))

    def fresh_browser() -> FlaskClient:
        client = app.test_client()
        client.environ_base["wsgi.url_scheme"] = "https"
        return client

    # When an attacker sends each attempt from a new browser (a new cookie, so no per-client limit)
    statuses = []
    for _ in range(2):
        statuses.append(attempt(fresh_browser(), "someone@example.org", "p" * 12, "123456")[0])
    spent = argon2_calls.calls
    statuses.append(attempt(fresh_browser(), "someone@example.org", "p" * 12, "123456")[0])
    # Then the third is refused, before any Argon2 work
    assert statuses == [200, 200, 429]
    assert spent == 2 and argon2_calls.calls == spent
    engine(app).dispose()
