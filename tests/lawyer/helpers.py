"""Driving the staff pages the way a person would: read the page, fill the form."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from crypto import FAST_TEST_KDF, Identity, derive_codename_keys, encrypt_stream_padded, generate_codename
from intake.models import Attachment, Case, CaseStatus, Item, ItemKind, ItemRecipient, Source, User
from intake.services.blobstore import BlobStore
from intake.services.items import AttachmentMeta, ItemPayload, seal_item
from intake.services.keyring import instance_keys, next_case_number, submission_recipients
from tests.submit.multipart import Part, Text, Upload, post_parts

STRONG_PASSPHRASE = "lantern quarry velvet orbit thistle marble"


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def path_of(url: str) -> str:
    return urlsplit(url).path


def totp_code(secret: str, last_step: int | None) -> str:
    """The code of the earliest step the server still accepts (it allows one step of drift)."""
    totp = pyotp.TOTP(secret)
    now = dt.datetime.now(dt.UTC)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if last_step is None or step > last_step:
            return totp.generate_otp(step)
    raise AssertionError("no unused TOTP step left in the window; allow_totp_again() first")


def allow_totp_again(session: Session, user_id: uuid.UUID) -> None:
    """As if a minute had passed since the last code: tests log in more often than people."""
    user = session.get(User, user_id)
    assert user is not None
    user.totp_last_step = None
    session.commit()


@dataclass(frozen=True)
class InitOutput:
    setup_path: str
    shares: list[str]
    text: str


def run_init(app: Flask, *args: str) -> InitOutput:
    result = app.test_cli_runner().invoke(args=["intake", "init", *args])
    assert result.exit_code == 0, result.output
    setup_url = re.search(r"^(http\S+/admin/setup/\S+)$", result.output, re.MULTILINE)
    assert setup_url
    shares = re.findall(r"^Share \d+ of \d+:\n(.+)$", result.output, re.MULTILINE)
    return InitOutput(setup_path=path_of(setup_url.group(1)), shares=shares, text=result.output)


def run_invite(app: Flask, email: str, role: str = "lawyer") -> str:
    result = app.test_cli_runner().invoke(args=["intake", "invite", email, "--role", role])
    assert result.exit_code == 0, result.output
    url = re.search(r"^(http\S+/lawyer/enrol/\S+)$", result.output, re.MULTILINE)
    assert url
    return path_of(url.group(1))


@dataclass(frozen=True)
class Enrolment:
    page: str
    totp_secret: str
    fingerprint: str


def enrol(
    client: FlaskClient, path: str, passphrase: str = STRONG_PASSPHRASE, email: str | None = None
) -> Enrolment:
    """Read the TOTP secret off the enrolment page, set it up, confirm a code."""
    page = client.get(path).get_data(as_text=True)
    secret_match = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert secret_match, "enrolment page shows no TOTP secret"
    totp_secret = secret_match.group(1).replace(" ", "")
    form = {
        "csrf_token": csrf_token(page),
        "passphrase": passphrase,
        "passphrase_again": passphrase,
        "totp_code": totp_code(totp_secret, None),
    }
    if email is not None:
        form["email"] = email
    response = client.post(path, data=form)
    done = response.get_data(as_text=True)
    fingerprint = re.search(r'id="fingerprint">([0-9 ]+)<', done)
    return Enrolment(
        page=done, totp_secret=totp_secret, fingerprint=fingerprint.group(1) if fingerprint else ""
    )


def log_in(client: FlaskClient, email: str, passphrase: str, code: str) -> str:
    """Submit the login form; returns the final page after redirects."""
    page = client.get("/lawyer/login").get_data(as_text=True)
    response = client.post(
        "/lawyer/login",
        data={"csrf_token": csrf_token(page), "email": email, "passphrase": passphrase, "totp_code": code},
        follow_redirects=True,
    )
    return response.get_data(as_text=True)


def post_form(client: FlaskClient, page_path: str, action: str, data: dict[str, str]) -> str:
    """Post one of the forms on `page_path` with that page's CSRF token."""
    page = client.get(page_path).get_data(as_text=True)
    return client.post(action, data={"csrf_token": csrf_token(page), **data}, follow_redirects=True).get_data(
        as_text=True
    )


@dataclass(frozen=True)
class SubmittedCase:
    number: int
    codename: str
    codename_identity: Identity
    attachment_ids: list[uuid.UUID]


def submit_directly(
    session: Session,
    blob_dir: Path,
    message: str,
    files: list[tuple[str, str, bytes]] = [],  # noqa: B006 — never mutated
    fields: dict[str, str] | None = None,
) -> SubmittedCase:
    """A submission as the submit service stores it: sealed item, encrypted blobs, rows."""
    recipients = submission_recipients(session)
    assert recipients is not None, "no vetted lawyer or no recovery key"
    codename = generate_codename()
    keys = derive_codename_keys(codename, instance_keys(session).codename_salt, FAST_TEST_KDF)
    store = BlobStore(blob_dir)
    today = dt.date.today()
    source = Source(
        codename_lookup_id=keys.lookup_id, reply_recipient=keys.identity.recipient, created_day=today
    )
    number = next_case_number(session)
    case = Case(
        number=number,
        source=source,
        status=CaseStatus.NEW,
        created_day=today,
        last_activity_day=today,
        activity_seq=1,
        item_count=1,
    )
    item_id = uuid.uuid4()
    attachments: list[Attachment] = []
    metas: list[AttachmentMeta] = []
    for position, (filename, content_type, content) in enumerate(files):
        with store.writer() as blob:
            encrypt_stream_padded(io.BytesIO(content), blob, recipients.recipients)
            blob_name = blob.publish()
        attachment = Attachment(
            id=uuid.uuid4(),
            item_id=item_id,
            position=position,
            blob_name=blob_name,
            ciphertext_size=blob.size,
        )
        attachments.append(attachment)
        metas.append(AttachmentMeta(str(attachment.id), filename, content_type, len(content)))
    payload = ItemPayload(fields=fields or {}, message=message, attachments=tuple(metas))
    item = Item(
        id=item_id,
        seq=1,
        kind=ItemKind.SUBMISSION,
        created_day=today,
        ciphertext=seal_item(payload, recipients.recipients),
        attachments=attachments,
        recipients=[ItemRecipient(item_id=item_id, user_id=user_id) for user_id in recipients.lawyer_ids],
    )
    case.items.append(item)
    session.add(case)
    session.commit()
    return SubmittedCase(
        number=number,
        codename=codename,
        codename_identity=keys.identity,
        attachment_ids=[attachment.id for attachment in attachments],
    )


def unescape(page: str) -> str:
    return html.unescape(page)


def post_reply(
    client: FlaskClient,
    case_path: str,
    data: dict[str, str],
    files: list[Upload] | None = None,
) -> str:
    """Send the case page's reply form as the browser does (multipart, token first); the page after."""
    token = csrf_token(client.get(case_path).get_data(as_text=True))
    parts: list[Part] = [
        Text("reply-csrf_token", token),
        *(Text(name, value) for name, value in data.items()),
        *(files or [Upload("", b"")]),
    ]
    response = post_parts(client, f"{case_path}/reply", parts)
    if response.status_code == 302:
        return client.get(response.headers["Location"]).get_data(as_text=True)
    return response.get_data(as_text=True)
