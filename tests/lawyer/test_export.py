"""Case exports: a ZIP of age files that the stock `age` CLI opens with the lawyer's offline key."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from config import Config
from intake.models import Attachment, AuditEvent, LawyerSession, UserStatus
from intake.services.blobstore import BlobStore
from intake.services.downloads import CHUNK_BYTES, DownloadFailed
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import csrf_token, log_in, post_form, submit_directly, totp_code, unescape
from tests.probes import run_probe

# Crosses several 64 KiB age chunks, and is not a multiple of one.
LARGE_FILE_SIZE = 200 * 1024 + 7
END_OF_CENTRAL_DIRECTORY = b"PK\x05\x06"


@dataclass(frozen=True)
class OfflineKey:
    key_file: Path
    recipient: str


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        # Interop with the stock tool is what an export promises: never skip it.
        pytest.fail(f"`{name}` is not installed (Debian package `age`); `make test` installs it")
    return found


@pytest.fixture
def offline_key(tmp_path: Path) -> OfflineKey:
    """A key made as the docs tell lawyers to: `age-keygen -o key.txt` on their own computer."""
    key_file = tmp_path / "offline" / "key.txt"
    key_file.parent.mkdir()
    subprocess.run([_tool("age-keygen"), "-o", str(key_file)], capture_output=True, check=True)
    public_line = next(
        line for line in key_file.read_text().splitlines() if line.startswith("# public key: ")
    )
    return OfflineKey(key_file=key_file, recipient=public_line.removeprefix("# public key: "))


def age_decrypt(key: OfflineKey, encrypted: Path) -> bytes:
    # To stdout: age 1.1 creates no `-o` file at all for an empty plaintext.
    result = subprocess.run(
        [_tool("age"), "-d", "-i", str(key.key_file), str(encrypted)], capture_output=True, check=True
    )
    return result.stdout


def request_export(client: FlaskClient, case_number: int, recipient: str, **options: bool) -> TestResponse:
    page = client.get(f"/lawyer/cases/{case_number}").get_data(as_text=True)
    return client.post(
        f"/lawyer/cases/{case_number}/export",
        data={"csrf_token": csrf_token(page), "recipient": recipient},
        **options,
    )


def unpack(archive: bytes, into: Path) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        assert opened.testzip() is None
        opened.extractall(into)
        return opened.namelist()


def encodings_of(marker: str) -> list[bytes]:
    """The marker as it could appear if plaintext leaked: raw, UTF-16, JSON-escaped, base64."""
    raw = marker.encode()
    forms = [raw, marker.encode("utf-16-le"), marker.encode("utf-16-be")]
    forms.append(json.dumps(marker, ensure_ascii=True)[1:-1].encode())
    for offset in range(3):
        # Base64 of a substring depends on its alignment; the middle is stable for each.
        forms.append(base64.b64encode(bytes(offset) + raw)[4:-4])
    return forms


def exported_events(session: Session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "case.exported")))


def test_the_age_cli_opens_every_file_of_an_export(
    lawyer_client: FlaskClient,
    lawyer: LawyerFixture,
    db_session: Session,
    config: Config,
    offline_key: OfflineKey,
    tmp_path: Path,
) -> None:
    # Given a Russian request with answers, a large and an empty file, and a lawyer's note
    marker = f"маркер-{uuid.uuid4().hex}"
    message = f"Мой брат задержан в Ростове. {marker}"
    large_file = os.urandom(LARGE_FILE_SIZE // 2) + marker.encode() + os.urandom(LARGE_FILE_SIZE // 2)
    submitted = submit_directly(
        db_session,
        config,
        message,
        files=[("заявление.pdf", "application/pdf", large_file), ("пусто.txt", "text/plain", b"")],
        fields={"help_kind": "detained_relative", "country": "Грузия", "urgency": "days"},
    )
    case_path = f"/lawyer/cases/{submitted.number}"
    post_form(lawyer_client, case_path, f"{case_path}/note", {"note-message": f"Позвонить адвокату {marker}"})

    # When the lawyer exports it to their offline key
    response = request_export(lawyer_client, submitted.number, offline_key.recipient)

    # Then a ZIP download arrives, never to be rendered
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith(
        f'attachment; filename="case-{submitted.number}.zip"'
    )
    archive = response.get_data()

    # And no plaintext of the case is in it, in any encoding
    for leaked in encodings_of(marker):
        assert leaked not in archive
    for leaked in encodings_of("Ростове"):
        assert leaked not in archive
    # Not even the filenames: ZIP entry names are readable without any key
    for leaked in encodings_of("заявление"):
        assert leaked not in archive

    # And it holds the README, each item and each file, named as the README says
    folder = f"case-{submitted.number}"
    names = unpack(archive, tmp_path / "unpacked")
    assert sorted(names) == sorted(
        [
            f"{folder}/README.txt",
            f"{folder}/001-submission.json.age",
            f"{folder}/002-note.json.age",
            f"{folder}/files/001-1.age",
            f"{folder}/files/001-2.age",
        ]
    )
    unpacked = tmp_path / "unpacked" / folder
    readme = (unpacked / "README.txt").read_text()
    assert "age -d -i key.txt -o message.txt 001-submission.json.age" in readme
    assert offline_key.recipient in readme
    assert "offline" in readme
    assert "Items: 2," in readme and "Attached files: 2," in readme
    assert "Not included" not in readme

    # And the stock age CLI decrypts every file with the offline key, unpadded
    request = json.loads(age_decrypt(offline_key, unpacked / "001-submission.json.age"))
    assert request["message"] == message
    assert request["kind"] == "submission"
    assert request["case"] == submitted.number
    assert request["author"] is None
    answers = {field["name"]: (field["question"], field["answer"]) for field in request["fields"]}
    assert answers["help_kind"] == ("What do you need help with?", "A relative of mine is detained")
    assert answers["country"] == ("Which country are you in now?", "Грузия")
    assert answers["urgency"] == ("How urgent is it?", "I need an answer within a few days")
    assert request["attachments"] == [
        {
            "file": "files/001-1.age",
            "filename": "заявление.pdf",
            "content_type": "application/pdf",
            "size": len(large_file),
        },
        {
            "file": "files/001-2.age",
            "filename": "пусто.txt",
            "content_type": "text/plain",
            "size": 0,
        },
    ]
    note = json.loads(age_decrypt(offline_key, unpacked / "002-note.json.age"))
    assert note["message"] == f"Позвонить адвокату {marker}"
    assert note["author"] == lawyer.user.email
    assert note["kind"] == "note"
    assert age_decrypt(offline_key, unpacked / "files" / "001-1.age") == large_file
    assert age_decrypt(offline_key, unpacked / "files" / "001-2.age") == b""

    # And the export is audited, without contents
    events = exported_events(db_session)
    assert [(e.case_number, e.actor_id, e.detail) for e in events] == [
        (submitted.number, lawyer.user.id, None)
    ]


def test_items_the_lawyer_cannot_read_are_named_in_the_readme_and_left_out(
    db_session: Session,
    lawyer_client: FlaskClient,
    new_client: NewClient,
    config: Config,
    offline_key: OfflineKey,
    tmp_path: Path,
) -> None:
    # Given a case that arrived before a newcomer joined, and the newcomer's note on it
    submitted = submit_directly(
        db_session, config, "before you", files=[("a.txt", "text/plain", b"x")]
    )
    newcomer = create_lawyer(db_session, email="newcomer@example.org")
    client = new_client()
    log_in(client, newcomer.user.email, newcomer.passphrase, totp_code(newcomer.totp_secret, None))
    case_path = f"/lawyer/cases/{submitted.number}"
    post_form(client, case_path, f"{case_path}/note", {"note-message": "mine"})

    # When the newcomer exports it
    response = request_export(client, submitted.number, offline_key.recipient)

    # Then only the note is in it, and the README says the request is missing and why
    assert response.status_code == 200
    folder = f"case-{submitted.number}"
    names = unpack(response.get_data(), tmp_path / "unpacked")
    assert sorted(names) == [f"{folder}/002-note.json.age", f"{folder}/README.txt"]
    readme = (tmp_path / "unpacked" / folder / "README.txt").read_text()
    assert "Not included" in readme
    assert f"item 1 (submission, {dt.date.today().isoformat()})" in readme
    assert "Items: 1," in readme and "Attached files: 0," in readme


@pytest.mark.parametrize(
    ("recipient", "error"),
    [
        ("", "This field is required."),
        ("age1notakey", "That is not an age public key."),
        ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk", "That is not an age public key."),
    ],
)
def test_an_invalid_recipient_shows_the_form_again_and_exports_nothing(
    lawyer_client: FlaskClient, db_session: Session, config: Config, recipient: str, error: str
) -> None:
    submitted = submit_directly(db_session, config, "hello")
    response = request_export(lawyer_client, submitted.number, recipient)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    assert error in unescape(response.get_data(as_text=True))
    assert exported_events(db_session) == []


def test_a_pasted_secret_key_is_refused_and_not_echoed(
    lawyer_client: FlaskClient, db_session: Session, config: Config, offline_key: OfflineKey
) -> None:
    submitted = submit_directly(db_session, config, "hello")
    secret = next(
        line for line in offline_key.key_file.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")
    )
    response = request_export(lawyer_client, submitted.number, secret)
    assert response.status_code == 400
    page = unescape(response.get_data(as_text=True))
    assert "That is a secret key" in page
    assert secret not in page
    assert exported_events(db_session) == []


def test_only_a_vetted_unlocked_session_can_export(
    db_session: Session,
    lawyer_client: FlaskClient,
    new_client: NewClient,
    config: Config,
    offline_key: OfflineKey,
) -> None:
    submitted = submit_directly(db_session, config, "hello")
    export_path = f"/lawyer/cases/{submitted.number}/export"

    # Nobody logged in (with a valid CSRF token, so only the session is missing)
    stranger = new_client()
    token = csrf_token(stranger.get("/lawyer/login").get_data(as_text=True))
    refused = stranger.post(export_path, data={"csrf_token": token, "recipient": offline_key.recipient})
    assert refused.status_code == 302 and refused.headers["Location"].split("?")[0].endswith("/lawyer/login")

    # A lawyer still waiting to be vetted
    pending = create_lawyer(db_session, email="pending@example.org", status=UserStatus.PENDING)
    waiting = new_client()
    log_in(waiting, pending.user.email, pending.passphrase, totp_code(pending.totp_secret, None))
    token = csrf_token(waiting.get("/lawyer/pending").get_data(as_text=True))
    refused = waiting.post(export_path, data={"csrf_token": token, "recipient": offline_key.recipient})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/lawyer/pending")

    # A vetted lawyer whose server half of the session is gone (logged out elsewhere, expired)
    token = csrf_token(lawyer_client.get(f"/lawyer/cases/{submitted.number}").get_data(as_text=True))
    db_session.execute(delete(LawyerSession))
    db_session.commit()
    refused = lawyer_client.post(export_path, data={"csrf_token": token, "recipient": offline_key.recipient})
    assert refused.status_code == 302 and refused.headers["Location"].split("?")[0].endswith("/lawyer/login")

    assert exported_events(db_session) == []


def test_a_damaged_file_breaks_the_export_instead_of_finishing_it(
    lawyer_client: FlaskClient, db_session: Session, config: Config, offline_key: OfflineKey
) -> None:
    # Given an attachment whose last chunk was altered on disk, large enough
    # that the export has sent its first pieces when the damage is found
    submitted = submit_directly(
        db_session, config, "file", files=[("f.bin", "x/y", os.urandom(3 * CHUNK_BYTES + 7))]
    )
    blob_name = db_session.scalar(select(Attachment.blob_name))
    assert blob_name is not None
    path = BlobStore(config.blob_dir).path_of(blob_name)
    damaged = bytearray(path.read_bytes())
    damaged[-5] ^= 0x01
    path.write_bytes(bytes(damaged))

    # When it is exported, the stream fails before the ZIP's directory is written
    response = request_export(lawyer_client, submitted.number, offline_key.recipient, buffered=False)
    received = bytearray()
    with pytest.raises(DownloadFailed):
        for chunk in response.response:
            received += chunk
    response.close()
    assert received and END_OF_CENTRAL_DIRECTORY not in received


def test_an_abandoned_export_stops_its_threads(
    lawyer_client: FlaskClient, db_session: Session, config: Config, offline_key: OfflineKey
) -> None:
    # Given a client that reads the start of a large export and goes away
    submitted = submit_directly(
        db_session, config, "big", files=[("big.bin", "x/y", bytes(20 * 1024 * 1024))]
    )
    response = request_export(lawyer_client, submitted.number, offline_key.recipient, buffered=False)
    chunks = iter(response.response)
    assert next(chunks)
    response.close()

    # Then the ZIP writer's thread (which also decrypts) is not left running
    deadline = time.monotonic() + 5
    while any(t.name == "case-export" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "case-export" for t in threading.enumerate())


MIB = 1024 * 1024
# The largest file a submitter may send (config max_file_bytes): past the 2 GiB
# where the ZIP needs ZIP64, and far beyond anything buffering could hide.
BIG_FILE_SIZE = 2048 * MIB
# One age chunk per stage, the queues, and Python's allocator slack.
ALLOWED_GROWTH_BYTES = 64 * MIB


@pytest.mark.slow
def test_a_large_file_exports_with_flat_memory(tmp_path: Path) -> None:
    # Given the app in a fresh process (its peak RSS is this export's alone)
    report = run_probe("tests.lawyer.big_export", tmp_path / "work", str(BIG_FILE_SIZE))

    # Then memory barely moved while it streamed, and the file decrypts to what was sent
    assert report["peak_rss"] - report["baseline_rss"] < ALLOWED_GROWTH_BYTES, report
    assert report["intact"] is True
    assert report["exported_bytes"] > zipfile.ZIP64_LIMIT
