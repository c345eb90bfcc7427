"""A lawyer's reply can carry documents: encrypted as they stream in, downloaded by the submitter."""

from __future__ import annotations

import dataclasses
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.models import Attachment, Item, ItemKind
from intake.request_limits import FORM_BODY_LIMIT
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import post_reply, unescape
from tests.submit.helpers import stored_state
from tests.submit.multipart import (
    Text,
    Upload,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    request_tokens,
)

POWER_OF_ATTORNEY = "Доверенность: настоящим уполномочиваю…".encode() * 50


def submitter_with_case(new_client: NewClient) -> FlaskClient:
    submitter = new_client()
    receipt = post_parts(submitter, "/request", help_request_parts(request_tokens(submitter, "/request")))
    codename = codename_on(receipt.get_data(as_text=True))
    submitter.post("/codename", data={"csrf_token": csrf_token(submitter, "/codename"), "codename": codename})
    return submitter


def test_the_submitter_downloads_the_documents_a_lawyer_attached(
    app: Flask, lawyer_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    submitter = submitter_with_case(new_client)
    files = [Upload("доверенность.pdf", POWER_OF_ATTORNEY, content_type="application/pdf")]

    page = post_reply(lawyer_client, "/lawyer/cases/1", {"reply-message": "Подпишите и пришлите"}, files)
    assert "Reply sent" in page

    # Then the file is stored only as age ciphertext
    attachment = db_session.scalars(select(Attachment).join(Item).where(Item.kind == ItemKind.REPLY)).one()
    blob = app.config["INTAKE"].blob_dir / attachment.blob_name[:2] / f"{attachment.blob_name}.age"
    stored = blob.read_bytes()
    assert stored.startswith(b"age-encryption.org/v1\n") and POWER_OF_ATTORNEY[:40] not in stored
    # and the lawyer's own case page lists it
    assert "доверенность.pdf" in unescape(lawyer_client.get("/lawyer/cases/1").get_data(as_text=True))

    # And the submitter, with the codename, finds it under the reply and downloads it
    replies = unescape(submitter.get("/replies").get_data(as_text=True))
    assert "Подпишите и пришлите" in replies
    link = re.search(r'href="(/replies/[^"]+/files/[^"]+)" download>доверенность.pdf<', replies)
    assert link, "no download link for the reply's file"
    download = submitter.get(link.group(1))
    assert download.status_code == 200
    assert download.get_data() == POWER_OF_ATTORNEY
    assert download.headers["Content-Type"] == "application/octet-stream"


def test_a_refused_reply_keeps_no_file(
    app: Flask, lawyer_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    submitter_with_case(new_client)
    before = stored_state(app)
    files = [Upload("доверенность.pdf", POWER_OF_ATTORNEY)]

    # An empty message: nothing is sent, the lawyer is told, and no blob stays behind
    page = post_reply(lawyer_client, "/lawyer/cases/1", {"reply-message": ""}, files)
    assert "nothing was sent" in page
    assert stored_state(app) == before

    # A forged or stale token: refused before the first file byte is stored
    forged = post_parts(
        lawyer_client,
        "/lawyer/cases/1/reply",
        [Text("reply-csrf_token", "forged"), Text("reply-message", "hi"), *files],
    )
    assert forged.status_code == 400
    assert stored_state(app) == before
    assert db_session.scalar(select(func.count()).select_from(Item).where(Item.kind == ItemKind.REPLY)) == 0


def test_a_reply_streams_files_larger_than_any_other_form_may_send(
    app: Flask, lawyer_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    # Given a document larger than the 1 MiB every non-upload route takes
    submitter_with_case(new_client)
    scan = bytes(FORM_BODY_LIMIT + 512 * 1024)

    # When a lawyer attaches it to a reply
    page = post_reply(
        lawyer_client, "/lawyer/cases/1", {"reply-message": "Скан приказа"}, [Upload("скан.pdf", scan)]
    )

    # Then it is streamed in and stored like any upload
    assert "Reply sent" in page
    attachment = db_session.scalars(select(Attachment).join(Item).where(Item.kind == ItemKind.REPLY)).one()
    assert attachment.ciphertext_size > len(scan)


def test_a_file_over_the_limit_is_named_and_the_reply_waits_as_typed(
    app: Flask, lawyer_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    # Given a service that takes files of at most 64 KiB
    submitter_with_case(new_client)
    app.config["INTAKE"] = dataclasses.replace(app.config["INTAKE"], max_file_bytes=64 * 1024)
    before = stored_state(app)

    # When a reply carries one small file and one over the limit
    files = [Upload("доверенность.pdf", POWER_OF_ATTORNEY), Upload("видео.mp4", bytes(100 * 1024))]
    page = post_reply(lawyer_client, "/lawyer/cases/1", {"reply-message": "Посмотрите видео"}, files)

    # Then nothing is sent or kept, the page names the file, and the message is still in the form
    assert "“видео.mp4” is larger than this service accepts; nothing was sent." in unescape(page)
    assert "Посмотрите видео</textarea>" in unescape(page)
    assert stored_state(app) == before
    assert db_session.scalar(select(func.count()).select_from(Item).where(Item.kind == ItemKind.REPLY)) == 0
