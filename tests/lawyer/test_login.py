"""Login: every factor checked, one generic answer, throttled per account and per browser."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from pathlib import Path

import pyotp
from argon2 import PasswordHasher
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import FAST_TEST_KDF, KdfParams, kdf_params_of, open_sealed, wrap_secret
from intake import create_app
from intake.db import engine
from intake.models import LawyerSession, User, UserStatus
from intake.services.accounts import FREE_LOGIN_FAILURES, password_hasher
from intake.services.clock import as_utc
from intake.services.totp import seal_totp_secret
from tests.conftest import make_config
from tests.crypto.test_sealing import KNOWN_TOTP_SUBKEY
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import allow_totp_again, csrf_token, log_in, totp_code

GENERIC_FAILURE = "Those details did not work"


def session_count(db_session: Session) -> int:
    return db_session.scalar(select(func.count()).select_from(LawyerSession)) or 0


def test_correct_passphrase_and_code_log_in_and_unlock(
    client: FlaskClient, lawyer: LawyerFixture, db_session: Session
) -> None:
    page = log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert "Inbox" in page
    assert session_count(db_session) == 1


def test_email_is_matched_without_regard_to_case(client: FlaskClient, lawyer: LawyerFixture) -> None:
    page = log_in(client, "  LAWYER@example.org ", lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert "Inbox" in page


def test_wrong_passphrase_is_refused_generically(
    client: FlaskClient, lawyer: LawyerFixture, db_session: Session
) -> None:
    page = log_in(
        client, lawyer.user.email, "wrong " + lawyer.passphrase, totp_code(lawyer.totp_secret, None)
    )
    assert GENERIC_FAILURE in page
    assert session_count(db_session) == 0


def test_unknown_email_gets_the_same_answer(client: FlaskClient, lawyer: LawyerFixture) -> None:
    page = log_in(client, "nobody@example.org", lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert GENERIC_FAILURE in page


def test_wrong_totp_code_is_refused(client: FlaskClient, lawyer: LawyerFixture, db_session: Session) -> None:
    right = totp_code(lawyer.totp_secret, None)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    page = log_in(client, lawyer.user.email, lawyer.passphrase, wrong)
    assert GENERIC_FAILURE in page
    assert session_count(db_session) == 0


def test_a_totp_code_from_another_seed_is_refused(client: FlaskClient, lawyer: LawyerFixture) -> None:
    page = log_in(client, lawyer.user.email, lawyer.passphrase, pyotp.TOTP(pyotp.random_base32()).now())
    assert GENERIC_FAILURE in page


def test_a_totp_code_cannot_be_replayed(
    lawyer: LawyerFixture, db_session: Session, new_client: NewClient
) -> None:
    # Given a code that has just logged the lawyer in
    code = totp_code(lawyer.totp_secret, None)
    assert "Inbox" in log_in(new_client(), lawyer.user.email, lawyer.passphrase, code)
    # When somebody who watched it type replays it from another browser
    page = log_in(new_client(), lawyer.user.email, lawyer.passphrase, code)
    # Then it is refused (told to wait for the next code: the passphrase was right)
    assert "This code was already used." in page
    assert session_count(db_session) == 1


def test_an_older_code_is_refused_after_a_newer_one(
    lawyer: LawyerFixture, db_session: Session, new_client: NewClient
) -> None:
    totp = pyotp.TOTP(lawyer.totp_secret)
    current = totp.timecode(dt.datetime.now(dt.UTC))
    assert "Inbox" in log_in(new_client(), lawyer.user.email, lawyer.passphrase, totp.generate_otp(current))
    page = log_in(new_client(), lawyer.user.email, lawyer.passphrase, totp.generate_otp(current - 1))
    assert "This code was already used." in page
    assert session_count(db_session) == 1


def test_somebody_who_knows_only_the_email_cannot_lock_the_owner_out(
    lawyer: LawyerFixture, db_session: Session, new_client: NewClient
) -> None:
    # Given an attacker who tries wrong passphrases from fresh browsers, far past any lockout threshold
    for _ in range(FREE_LOGIN_FAILURES + 5):
        assert GENERIC_FAILURE in log_in(
            new_client(), lawyer.user.email, "not the passphrase at all", "000000"
        )
    # Then the owner, with the right passphrase and code, gets in at once
    page = log_in(new_client(), lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert "Inbox" in page


def test_wrong_codes_after_the_right_passphrase_lock_with_growing_delays(
    lawyer: LawyerFixture, db_session: Session, new_client: NewClient
) -> None:
    # Given somebody who has the passphrase and guesses TOTP codes from fresh browsers
    wrong_code = f"{(int(totp_code(lawyer.totp_secret, None)) + 500_000) % 1_000_000:06d}"
    for _ in range(FREE_LOGIN_FAILURES):
        log_in(new_client(), lawyer.user.email, lawyer.passphrase, wrong_code)
    db_session.refresh(lawyer.user)
    assert lawyer.user.locked_until is None
    log_in(new_client(), lawyer.user.email, lawyer.passphrase, wrong_code)
    db_session.refresh(lawyer.user)
    assert lawyer.user.locked_until is not None
    first_lock_seconds = (as_utc(lawyer.user.locked_until) - dt.datetime.now(dt.UTC)).total_seconds()
    # Then no code is checked while the lock lasts, the right one included
    page = log_in(new_client(), lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert GENERIC_FAILURE in page
    assert session_count(db_session) == 0
    db_session.refresh(lawyer.user)
    assert lawyer.user.totp_last_step is None, "a locked account must not even check (and burn) a code"
    assert lawyer.user.failed_logins == FREE_LOGIN_FAILURES + 1
    # And after the lock, the next failure locks for longer
    lawyer.user.locked_until = None
    db_session.commit()
    log_in(new_client(), lawyer.user.email, lawyer.passphrase, wrong_code)
    db_session.refresh(lawyer.user)
    assert lawyer.user.locked_until is not None
    second_lock_seconds = (as_utc(lawyer.user.locked_until) - dt.datetime.now(dt.UTC)).total_seconds()
    assert second_lock_seconds > first_lock_seconds + 10


def test_lockout_ends_and_success_resets_the_count(
    client: FlaskClient, lawyer: LawyerFixture, db_session: Session
) -> None:
    lawyer.user.failed_logins = FREE_LOGIN_FAILURES + 4
    lawyer.user.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.commit()
    assert "Inbox" in log_in(
        client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None)
    )
    db_session.refresh(lawyer.user)
    assert lawyer.user.failed_logins == 0
    assert lawyer.user.locked_until is None


def test_one_browser_is_rate_limited(tmp_path: Path, database_url: str) -> None:
    # Given an instance that allows three login attempts per browser
    app = create_app(make_config(tmp_path, database_url, INTAKE_LOGIN_RATE_LIMIT="3 per hour"))
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    page = client.get("/lawyer/login").get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(page),
        "email": "x@example.org",
        "passphrase": "p" * 12,
        "totp_code": "1",
    }
    statuses = [client.post("/lawyer/login", data=form).status_code for _ in range(4)]
    # Then the fourth attempt is refused before any Argon2 work
    assert statuses == [200, 200, 200, 429]
    engine(app).dispose()


def test_suspended_and_revoked_staff_cannot_log_in(
    db_session: Session, lawyer: LawyerFixture, new_client: NewClient
) -> None:
    for status in (UserStatus.SUSPENDED, UserStatus.REVOKED):
        lawyer.user.status = status
        db_session.commit()
        allow_totp_again(db_session, lawyer.user.id)
        page = log_in(new_client(), lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
        assert GENERIC_FAILURE in page
    assert session_count(db_session) == 0


def test_login_starts_a_fresh_session(
    client: FlaskClient, lawyer: LawyerFixture, db_session: Session
) -> None:
    # Given a CSRF token issued before login (say, planted by an attacker on a shared machine)
    before = csrf_token(client.get("/lawyer/login").get_data(as_text=True))
    log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    first_session = db_session.scalar(select(LawyerSession.id))
    # Then the session carries a new token and a new id each login
    after = csrf_token(client.get("/lawyer/").get_data(as_text=True))
    assert before != after
    client.post("/lawyer/logout", data={"csrf_token": after})
    allow_totp_again(db_session, lawyer.user.id)
    log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    second_session = db_session.scalar(select(LawyerSession.id))
    assert first_session and second_session and first_session != second_session


def test_hash_and_key_wrapping_are_upgraded_on_login(
    client: FlaskClient, db_session: Session, recovery: object
) -> None:
    # Given an account made under older (different) Argon2id costs
    fixture = create_lawyer(db_session)
    fixture.user.password_hash = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(
        fixture.passphrase
    )
    older = KdfParams(time_cost=2, memory_cost_kib=16, parallelism=1)
    context = f"lawyer:{fixture.user.id}".encode()
    fixture.user.wrapped_private_key = wrap_secret(
        fixture.identity.secret, fixture.passphrase, context, older
    )
    db_session.commit()
    # When the lawyer logs in
    assert "Inbox" in log_in(
        client, fixture.user.email, fixture.passphrase, totp_code(fixture.totp_secret, None)
    )
    # Then both are redone under the configured costs
    db_session.refresh(fixture.user)
    assert "t=1" in fixture.user.password_hash and "m=8" in fixture.user.password_hash
    assert kdf_params_of(fixture.user.wrapped_private_key) == FAST_TEST_KDF


def test_totp_seeds_are_sealed_under_the_pinned_subkey() -> None:
    # Given the master secret and the key pinned by the crypto known-answer test
    user_id = uuid.uuid4()
    sealed = seal_totp_secret(bytes(range(32)), user_id, "JBSWY3DPEHPK3PXP")
    # Then the app's seeds open under it: a changed label would strand every stored seed
    opened = open_sealed(sealed, bytes.fromhex(KNOWN_TOTP_SUBKEY), f"totp:{user_id}".encode())
    assert opened == b"JBSWY3DPEHPK3PXP"


def test_totp_seed_is_not_stored_in_the_clear(db_session: Session, lawyer: LawyerFixture) -> None:
    stored = db_session.scalar(select(User.totp_secret_sealed).where(User.id == lawyer.user.id))
    assert stored and lawyer.totp_secret.encode() not in stored


COMPOSED_PASSPHRASE = unicodedata.normalize("NFC", "café déjà vu für naïve Ärzte")


def test_a_passphrase_typed_decomposed_logs_in(
    client: FlaskClient, db_session: Session, recovery: object
) -> None:
    # Given an account enrolled with "é" as one code point (how most keyboards send it)
    fixture = create_lawyer(db_session, passphrase=COMPOSED_PASSPHRASE)
    # When the lawyer types it on a device that sends "e" plus a combining accent
    decomposed = unicodedata.normalize("NFD", COMPOSED_PASSPHRASE)
    assert decomposed != COMPOSED_PASSPHRASE
    page = log_in(client, fixture.user.email, decomposed, totp_code(fixture.totp_secret, None))
    # Then it is the same passphrase
    assert "Inbox" in page


def test_a_hash_made_from_a_decomposed_passphrase_keeps_working_and_is_renewed(
    db_session: Session, recovery: object, new_client: NewClient
) -> None:
    # Given a login hash made before normalisation, from a passphrase typed decomposed
    decomposed = unicodedata.normalize("NFD", COMPOSED_PASSPHRASE)
    fixture = create_lawyer(db_session, passphrase=decomposed)
    old_hash = password_hasher(FAST_TEST_KDF).hash(decomposed)
    fixture.user.password_hash = old_hash
    db_session.commit()
    # When the lawyer logs in typing it the same way
    assert "Inbox" in log_in(
        new_client(), fixture.user.email, decomposed, totp_code(fixture.totp_secret, None)
    )
    # Then the hash is renewed over the normalised form, so either spelling works from now on
    db_session.refresh(fixture.user)
    assert fixture.user.password_hash != old_hash
    allow_totp_again(db_session, fixture.user.id)
    page = log_in(new_client(), fixture.user.email, COMPOSED_PASSPHRASE, totp_code(fixture.totp_secret, None))
    assert "Inbox" in page
