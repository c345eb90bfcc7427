"""Nothing a submitter typed or uploaded is lost: a form that comes back keeps its answers and
its files (encrypted, sealed into the form), and a follow-up outlives an expired session."""

from __future__ import annotations

import os
import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Case, ItemKind
from intake.services.blobstore import KEPT_DAYS
from tests.submit.helpers import ReadersFixture, decrypt_attachment, decrypt_item, stored_state
from tests.submit.multipart import (
    Text,
    Upload,
    codename_on,
    csrf_token,
    csrf_token_on,
    help_request_parts,
    kept_files_on,
    post_parts,
    request_tokens,
)
from tests.submit.test_returning_submitter import log_in, submit

VIDEO = b"\x00\x00\x00\x18ftypmp42 an hour of upload" * 500
FOLLOW_UP = "Сын нашёлся, он в безопасности. Вот его заявление."


def kept_blob_files(app: Flask) -> list[str]:
    return [path.name for path in stored_state(app).blob_files if path.parent.name == "kept"]


def test_a_corrected_form_sends_the_files_kept_from_the_first_try_without_uploading_them_again(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a form sent with a video and a missing answer
    tokens = request_tokens(client, "/request?lang=ru")
    first = post_parts(
        client, "/request", help_request_parts(tokens, files=[Upload("видео.mp4", VIDEO)], help_kind="")
    )
    assert first.status_code == 400
    assert len(kept_blob_files(app)) == 1

    # When the corrected form is sent with no file chosen
    corrected = [
        *help_request_parts(tokens)[:-1],
        Text("kept_files", kept_files_on(first.get_data(as_text=True))),
        Upload("", b""),
    ]
    receipt = post_parts(client, "/request", corrected)

    # Then the case has the video, stored once, and nothing waits any more
    assert receipt.status_code == 200
    assert codename_on(receipt.get_data(as_text=True)) == tokens.codename
    case = db_session.scalars(select(Case)).one()
    (attachment,) = case.items[0].attachments
    assert decrypt_item(case.items[0], readers.lawyer.identity).attachments[0].filename == "видео.mp4"
    assert decrypt_attachment(app, attachment, readers.lawyer.identity) == VIDEO
    assert kept_blob_files(app) == []
    assert len(stored_state(app).blob_files) == 1


def test_a_forged_list_of_kept_files_stores_nothing(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    parts = [*help_request_parts(tokens)[:-1], Text("kept_files", "bm90IG91cnM="), Upload("", b"")]
    response = post_parts(client, "/request", parts)
    assert response.status_code == 400
    assert stored_state(app).cases == 0


def expire_the_login(client: FlaskClient) -> None:
    with client.session_transaction() as cookie_session:
        cookie_session["source_expires"] = int(time.time()) - 1


def test_a_follow_up_written_while_the_session_expired_is_kept_and_sent_after_the_codename(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    codename = submit(client)
    replies_page = log_in(client, codename)
    # Given a follow-up written over more than an hour, with a file
    expire_the_login(client)
    parts = [
        Text("csrf_token", csrf_token_on(replies_page)),
        Text("message", FOLLOW_UP),
        Upload("заявление.pdf", b"%PDF statement"),
    ]
    resume = post_parts(client, "/replies?lang=ru", parts)

    # Then the text is on the page, the file kept, and the codename asked for
    page = resume.get_data(as_text=True)
    assert resume.status_code == 401
    assert "Ваше сообщение ещё не отправлено" in page
    assert f"{FOLLOW_UP}</textarea>" in page
    assert "<li>заявление.pdf</li>" in page
    assert len(kept_blob_files(app)) == 1

    # When a wrong codename is typed, nothing is lost either
    words = codename.split()
    wrong = " ".join([*words[1:], words[0]]) if len(set(words)) > 1 else "zebra " * 7
    retry = [
        Text("csrf_token", csrf_token_on(page)),
        Text("codename", wrong),
        Text("message", FOLLOW_UP),
        Text("kept_files", kept_files_on(page)),
        Upload("", b""),
    ]
    again = post_parts(client, "/replies?lang=ru", retry)
    page = again.get_data(as_text=True)
    assert again.status_code == 401
    assert "Такая кодовая фраза здесь не найдена" in page
    assert f"{FOLLOW_UP}</textarea>" in page

    # And with the right codename it is sent, file and all
    right = [
        Text("csrf_token", csrf_token_on(page)),
        Text("codename", codename),
        Text("message", FOLLOW_UP),
        Text("kept_files", kept_files_on(page)),
        Upload("", b""),
    ]
    sent = post_parts(client, "/replies?lang=ru", right)
    assert sent.status_code == 302
    follow_up = db_session.scalars(select(Case)).one().items[-1]
    assert follow_up.kind is ItemKind.FOLLOW_UP
    assert decrypt_item(follow_up, readers.lawyer.identity).message == FOLLOW_UP
    assert decrypt_attachment(app, follow_up.attachments[0], readers.lawyer.identity) == b"%PDF statement"
    assert kept_blob_files(app) == []


def test_kept_files_wait_a_day_then_the_sweep_removes_them(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    post_parts(client, "/request", help_request_parts(tokens, files=[Upload("a.txt", b"x")], help_kind=""))
    (kept,) = [path for path in stored_state(app).blob_files if path.parent.name == "kept"]

    assert app.test_cli_runner().invoke(args=["intake", "sweep"]).exit_code == 0
    assert kept.exists()

    # As the file's day-only times look after the form was abandoned
    abandoned = time.time() - (KEPT_DAYS + 1) * 86400
    os.utime(kept, (abandoned, abandoned))
    result = app.test_cli_runner().invoke(args=["intake", "sweep"])
    assert "removed 1 orphaned blob file(s)" in result.output
    assert not kept.exists()


def test_a_follow_up_without_any_login_stores_no_item(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    submit(client)
    before = stored_state(app)
    token = csrf_token(client, "/codename")
    response = post_parts(client, "/replies", [Text("csrf_token", token), Text("message", "hi"), Upload("", b"")])
    assert response.status_code == 401
    assert stored_state(app) == before
