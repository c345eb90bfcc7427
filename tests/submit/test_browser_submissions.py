"""The final post of an encrypted request: only ciphertext of our shape, for the current recipients, is stored."""

from __future__ import annotations

import base64
import os

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import pad
from intake.models import Case, CaseSummary
from intake.services.browser_submissions import attachment_id_of, recipient_set_fingerprint
from intake.services.items import AttachmentMeta, ItemPayload
from intake.services.keyring import instance_keys
from intake.services.summaries import SummaryPayload, open_summary
from tests.crypto.test_age_header import age_cli_encrypt
from tests.submit.chunked import upload_whole
from tests.submit.helpers import (
    NOTHING_STORED,
    ReadersFixture,
    decrypt_attachment,
    decrypt_item,
    stored_state,
)
from tests.submit.multipart import Part, RequestTokens, Text, Upload, post_parts, request_tokens


def recipients_of(readers: ReadersFixture) -> list[str]:
    return [readers.lawyer.identity.recipient, readers.recovery.recipient]


def browser_item(readers: ReadersFixture, payload: ItemPayload) -> bytes:
    return age_cli_encrypt(pad(payload.to_json()), recipients_of(readers))


ORDINARY_SUMMARY = SummaryPayload(help_kind="desertion", urgency="days", language="ru")


def browser_summary(readers: ReadersFixture, summary: SummaryPayload) -> bytes:
    return age_cli_encrypt(pad(summary.to_json()), recipients_of(readers))


def final_parts(
    tokens: RequestTokens,
    readers: ReadersFixture,
    item: bytes,
    upload_ids: list[str],
    summary: SummaryPayload = ORDINARY_SUMMARY,
) -> list[Part]:
    return [
        Text("csrf_token", tokens.csrf),
        Text("recipients_fingerprint", recipient_set_fingerprint(recipients_of(readers))),
        Text("encrypted_item", base64.b64encode(item).decode()),
        Text("encrypted_files", ",".join(upload_ids)),
        Text("form_codename", tokens.form_codename),
        Text("encrypted_summary", base64.b64encode(browser_summary(readers, summary)).decode()),
        Text("urgent", "1" if summary.urgent else "0"),
    ]


def test_an_encrypted_request_with_a_file_is_stored_as_sent(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    token = request_tokens(client)
    video = os.urandom(150_000)
    location = upload_whole(client, token.csrf, age_cli_encrypt(pad(video), recipients_of(readers)))
    upload_id = location.rsplit("/", 1)[1]
    meta = AttachmentMeta(attachment_id_of(upload_id), "видео.mp4", "video/mp4", len(video))
    payload = ItemPayload({"country": "Казахстан"}, "Помогите", (meta,))

    response = post_parts(
        client, "/request/encrypted", final_parts(token, readers, browser_item(readers, payload), [upload_id])
    )

    assert response.status_code == 200, response.get_data(as_text=True)
    case = db_session.scalars(select(Case)).one()
    assert case.encrypted_in_browser
    assert decrypt_item(case.items[0], readers.lawyer.identity) == payload
    [attachment] = case.items[0].attachments
    assert str(attachment.id) == meta.attachment_id
    assert decrypt_attachment(app, attachment, readers.lawyer.identity) == video
    assert not (app.config["INTAKE"].blob_dir / "uploads").exists() or not any(
        (app.config["INTAKE"].blob_dir / "uploads").iterdir()
    )


def test_an_urgent_encrypted_request_gets_its_triage_summary_and_an_alert(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a request the browser encrypted, saying the submitter is in danger now
    summary = SummaryPayload(help_kind="relative_missing", urgency="danger_now", country="Грузия", language="ru")
    item = browser_item(readers, ItemPayload({"urgency": "danger_now"}, "Помогите"))
    response = post_parts(client, "/request/encrypted", final_parts(request_tokens(client), readers, item, [], summary))

    # Then the lawyers' inbox can open the summary the browser sealed, and an urgent alert is due
    assert response.status_code == 200, response.get_data(as_text=True)
    case = db_session.scalars(select(Case)).one()
    sealed = db_session.scalars(select(CaseSummary.ciphertext).where(CaseSummary.case_id == case.id)).one()
    assert open_summary(sealed, [readers.lawyer.identity.secret]) == summary
    assert instance_keys(db_session).urgent_alerts_pending == 1


def test_a_summary_that_is_not_our_ciphertext_is_refused(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    parts = final_parts(request_tokens(client), readers, browser_item(readers, ItemPayload(message="x")), [])
    parts = [part for part in parts if getattr(part, "name", "") != "encrypted_summary"]
    parts.append(Text("encrypted_summary", base64.b64encode(b'{"urgency":"danger_now"}' * 10).decode()))

    assert post_parts(client, "/request/encrypted", parts).status_code == 400
    assert stored_state(app) == NOTHING_STORED


def test_a_changed_recipient_set_is_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    token = request_tokens(client)
    parts = final_parts(token, readers, browser_item(readers, ItemPayload(message="x")), [])
    parts[1] = Text("recipients_fingerprint", recipient_set_fingerprint([readers.recovery.recipient]))

    assert post_parts(client, "/request/encrypted", parts).status_code == 409
    assert stored_state(app) == NOTHING_STORED


def test_an_item_that_is_not_our_ciphertext_is_refused(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    token = request_tokens(client)
    one_stanza = age_cli_encrypt(pad(b"{}"), [readers.lawyer.identity.recipient])
    for item in (b"plain text, not encrypted" * 50, one_stanza):
        response = post_parts(client, "/request/encrypted", final_parts(token, readers, item, []))
        assert response.status_code == 400
    assert stored_state(app) == NOTHING_STORED


def test_another_browsers_upload_cannot_be_attached(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    owner_token = request_tokens(client)
    location = upload_whole(client, owner_token.csrf, age_cli_encrypt(pad(b"v" * 5000), recipients_of(readers)))
    intruder = app.test_client()
    token = request_tokens(intruder)
    item = browser_item(readers, ItemPayload(message="x"))

    response = post_parts(
        intruder, "/request/encrypted", final_parts(token, readers, item, [location.rsplit("/", 1)[1]])
    )

    assert response.status_code == 400
    assert stored_state(app).cases == 0


def test_a_file_part_in_the_final_post_is_refused(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    token = request_tokens(client)
    parts = final_parts(token, readers, browser_item(readers, ItemPayload(message="x")), [])
    parts.append(Upload("secret.txt", b"plaintext that must not be stored"))

    # The parser's file limit for this form is zero, so it stops at the part's headers
    assert post_parts(client, "/request/encrypted", parts).status_code in {400, 413}
    assert stored_state(app) == NOTHING_STORED


def test_the_final_post_needs_the_csrf_token(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    real = request_tokens(client)
    parts = final_parts(RequestTokens("not-a-token", real.form_codename, real.codename), readers, browser_item(readers, ItemPayload(message="x")), [])

    assert post_parts(client, "/request/encrypted", parts).status_code == 400
    assert stored_state(app) == NOTHING_STORED
