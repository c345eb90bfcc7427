"""`intake recover`: k trustees' shares re-key every case to the lawyers vetted now."""

from __future__ import annotations

import logging

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from crypto import DecryptionError, generate_identity, split_recovery_key
from intake.models import AuditEvent, Item, ItemRecipient, User, UserStatus
from intake.services.items import open_item
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import SubmittedCase, log_in, run_init, submit_directly, totp_code, unescape

ATTACHMENT = b"only the departed lawyer could open this" * 1000


def recover(app: Flask, shares: list[str]) -> Result:
    return app.test_cli_runner().invoke(args=["intake", "recover"], input="".join(f"{s}\n" for s in shares))


def stored_items(session: Session) -> list[tuple[bytes, set[object]]]:
    session.expire_all()
    return [
        (item.ciphertext, {recipient.user_id for recipient in item.recipients})
        for item in session.scalars(select(Item).order_by(Item.case_id, Item.seq))
    ]


def recovered_events(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "instance.recovered")))


@pytest.fixture
def shares(app: Flask) -> list[str]:
    """The trustees' shares of a real `intake init` (3 of 5)."""
    return run_init(app).shares


@pytest.fixture
def departed(db_session: Session, shares: list[str]) -> LawyerFixture:
    return create_lawyer(db_session, email="departed@example.org")


@pytest.fixture
def stranded_case(db_session: Session, config: Config, departed: LawyerFixture) -> SubmittedCase:
    """A case only the departed lawyer could read, with a file; they are revoked now."""
    submitted = submit_directly(
        db_session, config, "stranded", files=[("file.txt", "text/plain", ATTACHMENT)]
    )
    user = db_session.get(User, departed.user.id)
    assert user is not None
    user.status = UserStatus.REVOKED
    db_session.commit()
    return submitted


@pytest.fixture
def successor(db_session: Session, stranded_case: SubmittedCase) -> LawyerFixture:
    return create_lawyer(db_session, email="successor@example.org")


def test_the_right_shares_give_a_stranded_case_to_the_current_lawyer(
    app: Flask,
    db_session: Session,
    shares: list[str],
    departed: LawyerFixture,
    stranded_case: SubmittedCase,
    successor: LawyerFixture,
    new_client: NewClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)

    # Given any three of the five shares, in any order
    result = recover(app, [shares[4], shares[1], shares[2]])

    # Then every item is re-keyed, and the successor reads the case and its file
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 1 item(s) and 1 file(s) for every vetted lawyer" in result.output
    client = new_client()
    log_in(client, successor.user.email, successor.passphrase, totp_code(successor.totp_secret, None))
    path = f"/lawyer/cases/{stranded_case.number}"
    page = unescape(client.get(path).get_data(as_text=True))
    assert "stranded" in page and "Your key cannot decrypt" not in page
    download = client.get(f"{path}/attachments/{stranded_case.attachment_ids[0]}")
    assert download.get_data() == ATTACHMENT

    # and the departed lawyer is no longer a recipient
    [(ciphertext, readers)] = stored_items(db_session)
    assert readers == {successor.user.id}
    with pytest.raises(DecryptionError):
        open_item(ciphertext, [departed.identity.secret])
    assert db_session.scalar(select(ItemRecipient).where(ItemRecipient.user_id == departed.user.id)) is None

    # and the ceremony is audited with counts only
    [event] = recovered_events(db_session)
    assert event.actor_id is None and event.detail == "rekeyed=1 files=1 current=0 unreadable=0"

    # and no share, nor any part of one, was echoed or logged
    for share in shares:
        words = share.split()
        for start in range(0, len(words) - 2, 3):
            fragment = " ".join(words[start : start + 3])
            assert fragment not in result.output and fragment not in caplog.text

    # and a second run finds nothing left to do
    again = recover(app, shares[:3])
    assert again.exit_code == 0, again.output
    assert "Re-encrypted 0 item(s) and 0 file(s)" in again.output
    assert "1 item(s) were already up to date" in again.output


@pytest.mark.parametrize(
    ("which", "message"),
    [
        pytest.param("too-few", "3 different shares are needed; 2 were given.", id="too-few"),
        pytest.param("misspelt", "Share 2 is not valid", id="misspelt"),
        pytest.param("none", "No recovery shares were given.", id="none"),
        pytest.param("other-key", "not this instance's recovery key", id="other-key"),
    ],
)
def test_wrong_shares_are_refused_and_change_nothing(
    app: Flask,
    db_session: Session,
    shares: list[str],
    stranded_case: SubmittedCase,
    successor: LawyerFixture,
    which: str,
    message: str,
) -> None:
    misspelt = shares[1].split()
    misspelt[5] = "zebra" if misspelt[5] != "zebra" else "academic"
    attempts = {
        "too-few": shares[:2],
        "misspelt": [shares[0], " ".join(misspelt), shares[2]],
        "none": [],
        "other-key": split_recovery_key(generate_identity().secret, 3, 5)[:3],
    }
    before = stored_items(db_session)

    result = recover(app, attempts[which])

    assert result.exit_code != 0
    assert message in result.output and "Nothing was changed." in result.output
    assert stored_items(db_session) == before
    assert recovered_events(db_session) == []


def test_recovery_is_refused_while_no_lawyer_is_vetted(
    app: Flask, db_session: Session, shares: list[str], stranded_case: SubmittedCase
) -> None:
    before = stored_items(db_session)
    result = recover(app, shares[:3])
    assert result.exit_code != 0 and "No lawyer is vetted" in result.output
    assert "Share" not in result.output
    assert stored_items(db_session) == before


def test_recovery_is_refused_before_init(app: Flask, db_session: Session) -> None:
    result = recover(app, split_recovery_key(generate_identity().secret, 3, 5)[:3])
    assert result.exit_code != 0 and "run init first" in result.output


def test_recovery_leaves_cases_already_current_alone(
    app: Flask, db_session: Session, config: Config, shares: list[str]
) -> None:
    create_lawyer(db_session, email="only@example.org")
    submit_directly(db_session, config, "current")
    before = stored_items(db_session)
    result = recover(app, shares[:3])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 0 item(s)" in result.output
    assert stored_items(db_session) == before
