"""A follow-up the submitter's browser encrypted: stored as sent, once, and only for a logged-in submitter."""

from __future__ import annotations

import base64
import os
import time

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import pad
from intake.models import Case, ItemKind
from intake.services.browser_submissions import attachment_id_of, recipient_set_fingerprint
from intake.services.items import AttachmentMeta, ItemPayload
from intake.services.sources import SOURCE_SESSION_SECONDS
from tests.crypto.test_age_header import age_cli_encrypt
from tests.submit.chunked import create, patch, upload_whole
from tests.submit.helpers import ReadersFixture, decrypt_attachment, decrypt_item
from tests.submit.multipart import Part, Text, csrf_token, post_parts
from tests.submit.test_browser_submissions import recipients_of
from tests.submit.test_returning_submitter import log_in, submit

SESSION_EXPIRES = "source_expires"


def follow_up_parts(token: str, readers: ReadersFixture, item: bytes, upload_ids: list[str]) -> list[Part]:
    return [
        Text("csrf_token", token),
        Text("recipients_fingerprint", recipient_set_fingerprint(recipients_of(readers))),
        Text("encrypted_item", base64.b64encode(item).decode()),
        Text("encrypted_files", ",".join(upload_ids)),
    ]


def sealed(readers: ReadersFixture, payload: ItemPayload) -> bytes:
    return age_cli_encrypt(pad(payload.to_json()), recipients_of(readers))


def test_an_encrypted_follow_up_is_stored_as_sent_and_only_once_when_sent_again(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a returning submitter whose browser uploaded a file and sealed their message
    log_in(client, submit(client))
    token = csrf_token(client, "/replies")
    document = os.urandom(120_000)
    location = upload_whole(client, token, age_cli_encrypt(pad(document), recipients_of(readers)))
    upload_id = location.rsplit("/", 1)[1]
    meta = AttachmentMeta(attachment_id_of(upload_id), "справка.pdf", "application/pdf", len(document))
    payload = ItemPayload(message="Вот справка.", attachments=(meta,))
    parts = follow_up_parts(token, readers, sealed(readers, payload), [upload_id])

    # When the follow-up is posted, and posted again as after a lost answer
    answers = [post_parts(client, "/replies/encrypted", parts) for _ in range(2)]

    # Then each answer leads back to the replies page, and the case has the one follow-up, as sent
    assert [answer.status_code for answer in answers] == [302, 302]
    assert all(answer.headers["Location"].endswith("/replies") for answer in answers)
    case = db_session.scalars(select(Case)).one()
    assert [item.kind for item in case.items] == [ItemKind.SUBMISSION, ItemKind.FOLLOW_UP]
    follow_up = case.items[-1]
    assert decrypt_item(follow_up, readers.lawyer.identity) == payload
    [attachment] = follow_up.attachments
    assert decrypt_attachment(app, attachment, readers.lawyer.identity) == document
    assert "Ваше сообщение зашифровано в этом браузере" in client.get("/replies").get_data(as_text=True)


def test_the_same_text_sealed_again_is_a_new_message(
    client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # A re-encryption cannot be told from a changed message: it is added, never dropped
    log_in(client, submit(client))
    token = csrf_token(client, "/replies")
    for _ in range(2):
        item = sealed(readers, ItemPayload(message="Ещё раз то же самое."))
        assert post_parts(client, "/replies/encrypted", follow_up_parts(token, readers, item, [])).status_code == 302
    assert len(db_session.scalars(select(Case)).one().items) == 3


def test_an_encrypted_follow_up_without_a_login_stores_nothing(
    client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    submit(client)
    token = csrf_token(client, "/codename?lang=ru")
    item = sealed(readers, ItemPayload(message="Кто-то чужой."))

    answer = post_parts(client, "/replies/encrypted", follow_up_parts(token, readers, item, []))

    assert answer.status_code == 403
    assert len(db_session.scalars(select(Case)).one().items) == 1


def test_an_encrypted_follow_up_for_other_recipients_is_refused(
    client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    log_in(client, submit(client))
    token = csrf_token(client, "/replies")
    parts = follow_up_parts(token, readers, sealed(readers, ItemPayload(message="Старые ключи.")), [])
    parts[1] = Text("recipients_fingerprint", "0" * 64)

    assert post_parts(client, "/replies/encrypted", parts).status_code == 409
    assert len(db_session.scalars(select(Case)).one().items) == 1


def test_a_follow_ups_chunks_going_up_keep_the_submitter_logged_in(
    client: FlaskClient, readers: ReadersFixture
) -> None:
    # Given a logged-in submitter whose session is about to end, an hour into an upload
    log_in(client, submit(client))
    token = csrf_token(client, "/replies")
    location = create(client, token, 1000).headers["Location"]
    with client.session_transaction() as cookie_session:
        cookie_session[SESSION_EXPIRES] = int(time.time()) + 5

    # When the next chunk arrives
    assert patch(client, token, location, 0, os.urandom(500)).status_code == 204

    # Then the session runs for another full hour from now
    with client.session_transaction() as cookie_session:
        assert cookie_session[SESSION_EXPIRES] >= int(time.time()) + SOURCE_SESSION_SECONDS - 60
