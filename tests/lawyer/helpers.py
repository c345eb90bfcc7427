"""Driving the staff pages the way a person would: read the page, fill the form."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyotp
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from config import Config
from crypto import Identity
from intake.models import Case, CaseSummary, User
from intake.services.blobstore import BlobStore
from intake.services.codenames import new_codename
from intake.services.keyring import submission_recipients
from intake.services.sources import find_source
from intake.services.submissions import create_submission, receive_upload, upload_limits
from tests.submit.multipart import BOUNDARY, Part, Text, Upload, body_bytes, post_parts

STRONG_PASSPHRASE = "lantern quarry velvet orbit thistle marble"


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "page has no CSRF token"
    return match.group(1)


def path_of(url: str) -> str:
    return urlsplit(url).path


def totp_code(secret: str, last_step: int | None) -> str:
    """An unused code the server will still accept after a slow login.

    The server allows one step of drift either way. The previous step is never
    offered: Argon2 on a loaded machine can push the check past a step boundary,
    and that code would then be two steps old.
    """
    totp = pyotp.TOTP(secret)
    now = dt.datetime.now(dt.UTC)
    current = totp.timecode(now)
    for step in (current, current + 1):
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
    config: Config,
    message: str,
    files: list[tuple[str, str, bytes]] = [],  # noqa: B006 — never mutated
    fields: dict[str, str] | None = None,
    language: str = "en",
    summary: bool = True,
) -> SubmittedCase:
    """A submission stored by the submit services themselves, without the form's validation.

    The files go through the same streamed parser and encryption as an
    upload, and `create_submission` stores them: staff tests read what the
    public side really writes. `language` is the page's, for the inbox
    summary; without `summary` the case looks like one stored before
    summaries existed.
    """
    recipients = submission_recipients(session)
    assert recipients is not None, "no vetted lawyer or no recovery key"
    parts: list[Part] = [Upload(name, content, content_type=kind) for name, kind, content in files]
    with receive_upload(
        io.BytesIO(body_bytes(parts)),
        BOUNDARY.encode(),
        upload_limits(config),
        recipients.recipients,
        BlobStore(config.blob_dir),
        lambda _fields: None,
    ) as upload:
        receipt = create_submission(
            session,
            config,
            recipients,
            new_codename("en"),
            fields or {},
            message,
            upload.files,
            language=language,
        )
    login = find_source(session, config, receipt.codename)
    assert login is not None
    case = session.scalars(select(Case).where(Case.number == receipt.case_number)).one()
    if not summary:
        session.execute(delete(CaseSummary).where(CaseSummary.case_id == case.id))
        session.commit()
    return SubmittedCase(
        number=receipt.case_number,
        codename=receipt.codename,
        codename_identity=login.identity,
        attachment_ids=[attachment.id for attachment in case.items[0].attachments],
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
