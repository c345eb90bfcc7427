"""Re-keying a case: colleagues vetted later get access, people who left lose it, nothing else moves."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from config import Config
from crypto import DecryptionError, decrypt_padded
from intake.db import engine
from intake.models import AuditEvent, Case, Item, ItemKind, ItemRecipient, User, UserStatus
from intake.services.blobstore import BlobStore
from intake.services.items import open_item
from intake.services.rekey import RekeyReport, rekey_case
from tests.conftest import ROOT
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import (
    SubmittedCase,
    csrf_token,
    log_in,
    post_form,
    post_reply,
    submit_directly,
    totp_code,
    unescape,
)

CANNOT_DECRYPT = "Your key cannot decrypt this item"
REKEY_SECTION = "Give every current lawyer access"
ATTACHMENT = os.urandom(300_000)


@dataclass(frozen=True)
class StoredCase:
    """What a re-key may change, to compare before and after."""

    ciphertexts: dict[int, bytes]
    readers: dict[int, set[uuid.UUID]]
    blob_names: list[str]
    blob_files: list[Path]


def stored_case(session: Session, config: Config, case_number: int) -> StoredCase:
    session.expire_all()
    items = list(
        session.scalars(select(Item).join(Case).where(Case.number == case_number).order_by(Item.seq))
    )
    return StoredCase(
        ciphertexts={item.seq: item.ciphertext for item in items},
        readers={item.seq: {recipient.user_id for recipient in item.recipients} for item in items},
        blob_names=[attachment.blob_name for item in items for attachment in item.attachments],
        blob_files=sorted(path for path in config.blob_dir.rglob("*") if path.is_file()),
    )


def case_of(session: Session, number: int) -> Case:
    case = session.scalar(select(Case).where(Case.number == number))
    assert case is not None
    return case


def logged_in(new_client: NewClient, fixture: LawyerFixture) -> FlaskClient:
    client = new_client()
    page = log_in(client, fixture.user.email, fixture.passphrase, totp_code(fixture.totp_secret, None))
    assert "Inbox" in page
    return client


def set_status(session: Session, fixture: LawyerFixture, status: UserStatus) -> None:
    user = session.get(User, fixture.user.id)
    assert user is not None
    user.status = status
    session.commit()


def rekey(client: FlaskClient, case_number: int) -> str:
    path = f"/lawyer/cases/{case_number}"
    return unescape(post_form(client, path, f"{path}/rekey", {}))


@pytest.fixture
def departing(db_session: Session, lawyer: LawyerFixture) -> LawyerFixture:
    """A second lawyer, vetted when the case arrives and revoked before the re-key."""
    return create_lawyer(db_session, email="departing@example.org")


@pytest.fixture
def early_case(
    db_session: Session, config: Config, lawyer_client: FlaskClient, departing: LawyerFixture
) -> SubmittedCase:
    """A request with a file, a reply and a note, all from before the newcomer was vetted."""
    submitted = submit_directly(
        db_session, config, "early request", files=[("évidence.pdf", "application/pdf", ATTACHMENT)]
    )
    path = f"/lawyer/cases/{submitted.number}"
    post_reply(lawyer_client, path, {"reply-message": "we are on it"})
    post_form(lawyer_client, path, f"{path}/note", {"note-message": "internal only"})
    return submitted


def test_a_lawyer_gives_a_colleague_vetted_later_access_to_everything(
    app: Flask,
    db_session: Session,
    config: Config,
    lawyer: LawyerFixture,
    lawyer_client: FlaskClient,
    departing: LawyerFixture,
    early_case: SubmittedCase,
    new_client: NewClient,
) -> None:
    # Given a lawyer vetted after the case arrived, and one who has left since
    newcomer = create_lawyer(db_session, email="newcomer@example.org")
    set_status(db_session, departing, UserStatus.REVOKED)
    path = f"/lawyer/cases/{early_case.number}"
    newcomer_client = logged_in(new_client, newcomer)
    assert unescape(newcomer_client.get(path).get_data(as_text=True)).count(CANNOT_DECRYPT) == 3
    # (the newcomer's key can re-encrypt nothing here, so they are not offered the button)
    assert REKEY_SECTION not in unescape(newcomer_client.get(path).get_data(as_text=True))
    before = stored_case(db_session, config, early_case.number)

    # When a lawyer who can read the case re-keys it
    assert REKEY_SECTION in unescape(lawyer_client.get(path).get_data(as_text=True))
    page = rekey(lawyer_client, early_case.number)

    # Then the newcomer reads every item and downloads the file byte for byte
    assert "3 items re-encrypted: every current lawyer can read them now." in page
    assert REKEY_SECTION not in page
    newcomer_page = unescape(newcomer_client.get(path).get_data(as_text=True))
    assert CANNOT_DECRYPT not in newcomer_page
    assert all(text in newcomer_page for text in ("early request", "we are on it", "internal only"))
    download = newcomer_client.get(f"{path}/attachments/{early_case.attachment_ids[0]}")
    assert download.status_code == 200 and download.get_data() == ATTACHMENT

    # and the old file is gone, replaced by a new one under a new name
    after = stored_case(db_session, config, early_case.number)
    store = BlobStore(config.blob_dir)
    [old_blob], [new_blob] = before.blob_names, after.blob_names
    assert old_blob != new_blob
    assert not store.path_of(old_blob).exists() and store.path_of(new_blob).exists()
    assert len(after.blob_files) == len(before.blob_files)

    # and every item names exactly the current lawyers, the revoked one no longer
    current = {lawyer.user.id, newcomer.user.id}
    assert after.readers == {1: current, 2: current, 3: current}
    assert db_session.scalar(select(ItemRecipient).where(ItemRecipient.user_id == departing.user.id)) is None
    with pytest.raises(DecryptionError):
        decrypt_padded(after.ciphertexts[1], [departing.identity.secret])

    # and the submitter still reads the reply with their codename, but not the note
    replies = {item.seq: item.kind for item in db_session.scalars(select(Item).where(Item.visible_to_source))}
    assert replies == {2: ItemKind.REPLY}
    secret = early_case.codename_identity.secret
    assert open_item(after.ciphertexts[2], [secret]).message == "we are on it"
    with pytest.raises(DecryptionError):
        open_item(after.ciphertexts[3], [secret])

    # and the re-key is audited with counts only
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "case.rekeyed"))
    assert event is not None and event.actor_id == lawyer.user.id and event.case_number == early_case.number
    assert event.detail == "rekeyed=3 files=1 current=0 unreadable=0"


def test_a_second_rekey_changes_nothing(
    db_session: Session,
    config: Config,
    lawyer: LawyerFixture,
    lawyer_client: FlaskClient,
    early_case: SubmittedCase,
) -> None:
    create_lawyer(db_session, email="newcomer@example.org")
    rekey(lawyer_client, early_case.number)
    before = stored_case(db_session, config, early_case.number)

    page = rekey(lawyer_client, early_case.number)

    assert "Nothing to do: every item already opens for every current lawyer." in page
    assert stored_case(db_session, config, early_case.number) == before
    report = rekey_case(
        db_session,
        BlobStore(config.blob_dir),
        case_of(db_session, early_case.number),
        lawyer.identity.secret,
    )
    assert report == RekeyReport(current_items=3)
    assert stored_case(db_session, config, early_case.number) == before
    events = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "case.rekeyed")).all()
    assert len(events) == 1


def test_items_the_lawyer_cannot_read_are_left_untouched(
    db_session: Session, config: Config, lawyer: LawyerFixture, new_client: NewClient
) -> None:
    # Given a request only the first lawyer can read, then a note by a lawyer vetted later
    submitted = submit_directly(
        db_session, config, "early", files=[("a.txt", "text/plain", b"first lawyer only")]
    )
    second = create_lawyer(db_session, email="second@example.org")
    second_client = logged_in(new_client, second)
    path = f"/lawyer/cases/{submitted.number}"
    post_form(second_client, path, f"{path}/note", {"note-message": "second lawyer's note"})
    third = create_lawyer(db_session, email="third@example.org")
    before = stored_case(db_session, config, submitted.number)

    # When the second lawyer re-keys the case
    page = rekey(second_client, submitted.number)

    # Then only their note moved; the request and its file are exactly as they were
    assert "1 item re-encrypted: every current lawyer can read it now." in page
    assert "1 item cannot be opened with your key (or has a damaged file) and was left as it was." in page
    after = stored_case(db_session, config, submitted.number)
    assert after.ciphertexts[1] == before.ciphertexts[1] and after.readers[1] == before.readers[1]
    assert after.blob_names == before.blob_names and after.blob_files == before.blob_files
    assert after.readers[2] == {lawyer.user.id, second.user.id, third.user.id}
    assert open_item(after.ciphertexts[2], [third.identity.secret]).message == "second lawyer's note"


def test_a_damaged_file_keeps_its_item_as_it_was(
    db_session: Session, config: Config, lawyer: LawyerFixture, lawyer_client: FlaskClient
) -> None:
    submitted = submit_directly(
        db_session, config, "file", files=[("f.bin", "x/y", os.urandom(200_000))]
    )
    create_lawyer(db_session, email="newcomer@example.org")
    blob_path = BlobStore(config.blob_dir).path_of(
        stored_case(db_session, config, submitted.number).blob_names[0]
    )
    damaged = bytearray(blob_path.read_bytes())
    damaged[-5] ^= 0x01
    blob_path.write_bytes(bytes(damaged))
    before = stored_case(db_session, config, submitted.number)

    page = rekey(lawyer_client, submitted.number)

    assert "1 item cannot be opened with your key (or has a damaged file)" in page
    assert stored_case(db_session, config, submitted.number) == before
    assert blob_path.read_bytes() == bytes(damaged)


def test_the_rekey_section_shows_only_while_a_readable_item_is_out_of_date(
    db_session: Session, config: Config, lawyer: LawyerFixture, lawyer_client: FlaskClient
) -> None:
    submitted = submit_directly(db_session, config, "request")
    path = f"/lawyer/cases/{submitted.number}"
    assert REKEY_SECTION not in unescape(lawyer_client.get(path).get_data(as_text=True))
    # a lawyer suspended since still names the item
    suspended = create_lawyer(db_session, email="suspended@example.org")
    later = submit_directly(db_session, config, "later request")
    set_status(db_session, suspended, UserStatus.SUSPENDED)
    later_path = f"/lawyer/cases/{later.number}"
    assert REKEY_SECTION in unescape(lawyer_client.get(later_path).get_data(as_text=True))
    # and, in Russian, the section is translated
    assert "Дать доступ всем нынешним юристам" in lawyer_client.get(f"{later_path}?lang=ru").get_data(
        as_text=True
    )
    rekey(lawyer_client, later.number)
    assert REKEY_SECTION not in unescape(lawyer_client.get(later_path).get_data(as_text=True))


def test_rekey_needs_a_vetted_unlocked_session_and_a_csrf_token(
    db_session: Session,
    config: Config,
    lawyer_client: FlaskClient,
    early_case: SubmittedCase,
    new_client: NewClient,
) -> None:
    create_lawyer(db_session, email="newcomer@example.org")
    before = stored_case(db_session, config, early_case.number)
    action = f"/lawyer/cases/{early_case.number}/rekey"

    # Without a CSRF token
    assert lawyer_client.post(action).status_code == 400
    # Nobody logged in (with a valid CSRF token, so only the session is missing)
    stranger = new_client()
    token = csrf_token(stranger.get("/lawyer/login").get_data(as_text=True))
    refused = stranger.post(action, data={"csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].split("?")[0].endswith("/lawyer/login")
    # A lawyer still waiting to be vetted
    pending = create_lawyer(db_session, email="pending@example.org", status=UserStatus.PENDING)
    waiting = new_client()
    log_in(waiting, pending.user.email, pending.passphrase, totp_code(pending.totp_secret, None))
    token = csrf_token(waiting.get("/lawyer/pending").get_data(as_text=True))
    refused = waiting.post(action, data={"csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/lawyer/pending")
    # A case that does not exist
    token = csrf_token(lawyer_client.get(f"/lawyer/cases/{early_case.number}").get_data(as_text=True))
    assert lawyer_client.post("/lawyer/cases/999/rekey", data={"csrf_token": token}).status_code == 404

    assert stored_case(db_session, config, early_case.number) == before


FAILING_TRIGGER = {
    "sqlite": [
        (
            "CREATE TRIGGER intake_test_failure BEFORE UPDATE ON attachments "
            "BEGIN SELECT RAISE(ABORT, 'simulated storage failure'); END"
        )
    ],
    "postgresql": [
        (
            "CREATE FUNCTION intake_test_failure() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'simulated storage failure'; END $$"
        ),
        (
            "CREATE TRIGGER intake_test_failure BEFORE UPDATE ON attachments "
            "FOR EACH ROW EXECUTE FUNCTION intake_test_failure()"
        ),
    ],
}
REMOVE_TRIGGER = {
    "sqlite": ["DROP TRIGGER intake_test_failure"],
    "postgresql": ["DROP TRIGGER intake_test_failure ON attachments", "DROP FUNCTION intake_test_failure()"],
}


@pytest.fixture
def failing_attachment_updates(app: Flask, db_session: Session) -> Iterator[None]:
    """The database really refuses to update attachment rows (a trigger), as a full disk would."""
    dialect = engine(app).dialect.name
    with engine(app).begin() as connection:
        for statement in FAILING_TRIGGER[dialect]:
            connection.execute(text(statement))
    yield
    # The test's reads keep a transaction open; on PostgreSQL it would block DROP TRIGGER.
    db_session.rollback()
    with engine(app).begin() as connection:
        for statement in REMOVE_TRIGGER[dialect]:
            connection.execute(text(statement))


def test_a_failed_commit_keeps_the_old_rows_and_files_and_leaves_no_new_file(
    app: Flask,
    db_session: Session,
    config: Config,
    lawyer_client: FlaskClient,
    early_case: SubmittedCase,
    failing_attachment_updates: None,
) -> None:
    create_lawyer(db_session, email="newcomer@example.org")
    before = stored_case(db_session, config, early_case.number)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    path = f"/lawyer/cases/{early_case.number}"
    token = csrf_token(lawyer_client.get(path).get_data(as_text=True))

    response = lawyer_client.post(f"{path}/rekey", data={"csrf_token": token})

    # Then the request, the first item and the only one with a file, failed and stopped the run:
    # every row is as it was, the old blob is still there, and no new file is left behind
    assert response.status_code == 500
    assert stored_case(db_session, config, early_case.number) == before
    assert BlobStore(config.blob_dir).path_of(before.blob_names[0]).exists()
    assert db_session.scalar(select(AuditEvent).where(AuditEvent.action == "case.rekeyed")) is None


MIB = 1024 * 1024
# Big enough that buffering the file would show; small enough to run in seconds.
BIG_FILE_SIZE = 256 * MIB
# One age chunk per stage, the queue, and Python's allocator slack.
ALLOWED_GROWTH_BYTES = 64 * MIB


@pytest.mark.slow
def test_a_large_file_is_rekeyed_with_flat_memory(tmp_path: Path) -> None:
    # Given the app in a fresh process (its peak RSS is this re-key's alone)
    work_dir = tmp_path / "work"
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "tests.lawyer.big_rekey", str(work_dir), str(BIG_FILE_SIZE)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    # Then memory barely moved, and the new blob decrypts for the newcomer to what was sent
    assert report["peak_rss"] - report["baseline_rss"] < ALLOWED_GROWTH_BYTES, report
    assert report["intact"] is True
    assert report["old_blob_gone"] is True
