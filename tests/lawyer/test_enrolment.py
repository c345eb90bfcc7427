"""Enrolment from an invitation: passphrase strength, TOTP set-up, key generation."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import fingerprint, identity_from_secret, unwrap_secret
from intake.models import Invite, User, UserStatus
from intake.services.accounts import ZXCVBN_MAX_CHARACTERS, judge_passphrase
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import STRONG_PASSPHRASE, csrf_token, enrol, log_in, run_invite, totp_code


def enrolment_form(client: FlaskClient, path: str) -> tuple[str, str]:
    page = client.get(path).get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert secret
    return page, secret.group(1).replace(" ", "")


def test_enrolment_creates_a_pending_account_with_a_wrapped_key(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    path = run_invite(app, "new@example.org")
    page, _ = enrolment_form(client, path)
    # The QR code is an image from a data: URI (no inline script or style under the CSP).
    # PNG, which Tor Browser's Safest mode still shows (it disables SVG).
    assert re.search(r'<img class="qr" src="data:image/png;base64,', page)
    enrolment = enrol(client, path)
    user = db_session.scalar(select(User).where(User.email == "new@example.org"))
    assert user is not None and user.status is UserStatus.PENDING
    assert enrolment.fingerprint == fingerprint(user.public_recipient)
    secret = unwrap_secret(user.wrapped_private_key, STRONG_PASSPHRASE, f"lawyer:{user.id}".encode())
    assert identity_from_secret(secret).recipient == user.public_recipient
    assert STRONG_PASSPHRASE not in user.password_hash
    assert "Read it aloud to an admin" in enrolment.page


def test_an_invite_works_once(app: Flask, new_client: NewClient) -> None:
    path = run_invite(app, "once@example.org")
    enrol(new_client(), path)
    response = new_client().get(path)
    assert response.status_code == 404 and "This link is not valid" in response.get_data(as_text=True)


def test_an_expired_invite_is_refused(app: Flask, client: FlaskClient, db_session: Session) -> None:
    path = run_invite(app, "late@example.org")
    invite = db_session.scalar(select(Invite))
    assert invite is not None
    invite.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    db_session.commit()
    assert client.get(path).status_code == 404
    token = csrf_token(client.get("/lawyer/login").get_data(as_text=True))
    form = {"csrf_token": token, "passphrase": STRONG_PASSPHRASE, "passphrase_again": STRONG_PASSPHRASE}
    assert client.post(path, data={**form, "totp_code": "123456"}).status_code == 404
    assert db_session.scalar(select(User)) is None


def test_a_made_up_invite_token_is_refused(client: FlaskClient) -> None:
    assert client.get("/lawyer/enrol/not-a-real-token").status_code == 404


def test_a_weak_passphrase_is_explained_and_the_qr_code_stays_valid(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    path = run_invite(app, "weak@example.org")
    page, secret = enrolment_form(client, path)
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(page),
            "passphrase": "password1234",
            "passphrase_again": "password1234",
            "totp_code": totp_code(secret, None),
        },
    )
    page = response.get_data(as_text=True)
    assert "too easy to guess" in page
    assert "offline" in page, "the page says why strength matters"
    assert db_session.scalar(select(User)) is None
    _, secret_again = enrolment_form(client, path)
    assert secret_again == secret


def test_a_wrong_confirmation_code_creates_nothing(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    path = run_invite(app, "typo@example.org")
    page, secret = enrolment_form(client, path)
    right = totp_code(secret, None)
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(page),
            "passphrase": STRONG_PASSPHRASE,
            "passphrase_again": STRONG_PASSPHRASE,
            "totp_code": f"{(int(right) + 1) % 1_000_000:06d}",
        },
    )
    assert "That code did not match" in response.get_data(as_text=True)
    assert db_session.scalar(select(User)) is None


def test_the_enrolment_code_cannot_be_replayed_to_log_in(app: Flask, new_client: NewClient) -> None:
    path = run_invite(app, "replay@example.org")
    client = new_client()
    page, secret = enrolment_form(client, path)
    code = totp_code(secret, None)
    client.post(
        path,
        data={
            "csrf_token": csrf_token(page),
            "passphrase": STRONG_PASSPHRASE,
            "passphrase_again": STRONG_PASSPHRASE,
            "totp_code": code,
        },
    )
    # Refused, with the advice to wait for the next code (the passphrase was right)
    page = log_in(new_client(), "replay@example.org", STRONG_PASSPHRASE, code)
    assert "This code was already used." in page and "Inbox" not in page


@pytest.mark.parametrize(
    "passphrase",
    [
        "lantern quarry velvet orbit thistle",
        "Tr0ub4dor&3-xkcd-is-a-classic!",
        "ненавиджу війну але люблю свою країну",
    ],
)
def test_strong_passphrases_are_accepted(passphrase: str) -> None:
    assert judge_passphrase(passphrase, ["someone@example.org"]).acceptable


@pytest.mark.parametrize(
    "passphrase",
    ["short", "password1234", "qwertyuiop123", "the the the the the", "someone@example.org"],
)
def test_weak_passphrases_are_refused_with_reasons(passphrase: str) -> None:
    verdict = judge_passphrase(passphrase, ["someone@example.org"])
    assert not verdict.acceptable
    assert verdict.feedback


def test_only_the_first_characters_are_judged_by_zxcvbn() -> None:
    # Given a passphrase whose judged prefix is one repeated letter and whose
    # strength lies only beyond it (zxcvbn's cost grows steeply with length)
    weak_prefix = "a" * ZXCVBN_MAX_CHARACTERS
    verdict = judge_passphrase(weak_prefix + "Q7#vLx9!pZ2@rT", ["someone@example.org"])
    # Then the tail does not count: what zxcvbn saw is weak
    assert not verdict.acceptable


def test_long_diceware_passphrases_are_still_judged_by_their_words() -> None:
    words = " ".join(["lantern", "quarry", "velvet", "orbit", "thistle"] * 25)
    assert judge_passphrase(words, []).acceptable
