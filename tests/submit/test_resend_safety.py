"""A form sent again is never dropped: the same form stores one case, a changed one adds to it.

The form carries its codename (sealed, bound to the submitter's session), so
whatever comes back under it reaches the same case: a reload or a retry after
a lost response stores nothing new, and a resend that differs (edited text,
a file added) becomes a further message on that case, which the receipt says.
"""

from __future__ import annotations

import base64
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from crypto import pad
from intake.db import session_factory
from intake.models import Case, CaseSummary, ItemKind
from intake.services.browser_submissions import attachment_id_of
from intake.services.codenames import new_codename
from intake.services.items import AttachmentMeta, ItemPayload
from intake.services.keyring import instance_keys, submission_recipients
from intake.services.submissions import Receipt, create_submission
from intake.services.summaries import open_summary
from intake.write_turns import lock_file_path, writers_queue
from tests.crypto.test_age_header import age_cli_encrypt
from tests.factories import create_lawyer, set_recovery_key
from tests.submit.chunked import upload_whole
from tests.submit.helpers import (
    NOTHING_STORED,
    ReadersFixture,
    decrypt_attachment,
    decrypt_item,
    stored_state,
)
from tests.submit.multipart import (
    Text,
    Upload,
    codename_on,
    help_request_parts,
    kept_files_on,
    post_parts,
    request_tokens,
)
from tests.submit.test_browser_submissions import browser_item, final_parts, recipients_of
from tests.submit.test_codename_delivery import fresh_client

FIRST = "Сына призвали, он не хочет воевать. Что нам делать?"
EDITED = "Сына призвали, он не хочет воевать и уже уехал в Грузию. Что нам делать?"
CHANGES_ADDED = "Ваши изменения добавлены к вашему обращению как новое сообщение."


def test_an_edited_resend_of_the_same_form_is_added_to_the_case_as_a_further_message(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a request sent once
    tokens = request_tokens(client, "/request?lang=ru")
    first = post_parts(client, "/request", help_request_parts(tokens, FIRST))
    assert first.status_code == 200
    assert CHANGES_ADDED not in first.get_data(as_text=True)

    # When the submitter goes back, edits the text and sends the same form again
    edited_parts = help_request_parts(tokens, EDITED, urgency="danger_now")
    resent = post_parts(client, "/request", edited_parts)

    # Then the receipt shows the same codename and says the changes were added
    page = resent.get_data(as_text=True)
    assert resent.status_code == 200
    assert codename_on(page) == tokens.codename
    assert CHANGES_ADDED in page
    # And the case holds both: the request, then the edited form as a further message
    case = db_session.scalars(select(Case)).one()
    assert [item.kind for item in case.items] == [ItemKind.SUBMISSION, ItemKind.FOLLOW_UP]
    edited = decrypt_item(case.items[1], readers.lawyer.identity)
    assert edited.message == EDITED
    assert edited.fields["urgency"] == "danger_now"
    assert decrypt_item(case.items[0], readers.lawyer.identity).message == FIRST
    # And the inbox triages by the edited answers: the case is urgent now, and the lawyers are told
    sealed_summary = db_session.scalars(select(CaseSummary).where(CaseSummary.case_id == case.id)).one()
    summary = open_summary(sealed_summary.ciphertext, [readers.lawyer.identity.secret])
    assert summary is not None and summary.urgent
    assert instance_keys(db_session).urgent_alerts_pending == 1

    # And a reload of the edited form (its response lost) stores nothing more
    again = post_parts(client, "/request", edited_parts)
    assert again.status_code == 200
    assert codename_on(again.get_data(as_text=True)) == tokens.codename
    db_session.expire_all()
    assert len(db_session.scalars(select(Case)).one().items) == 2
    assert instance_keys(db_session).urgent_alerts_pending == 1


def test_a_resend_with_a_file_added_keeps_the_file_and_one_with_the_same_file_stores_nothing(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    assert post_parts(client, "/request", help_request_parts(tokens, FIRST)).status_code == 200

    # A file added on the second try is stored, with the form, as a further message
    scan = Upload("повестка.jpg", b"\xff\xd8 scan of the summons" * 50)
    with_file = post_parts(client, "/request", help_request_parts(tokens, FIRST, files=[scan]))
    assert CHANGES_ADDED in with_file.get_data(as_text=True)
    case = db_session.scalars(select(Case)).one()
    (attachment,) = case.items[1].attachments
    assert decrypt_attachment(app, attachment, readers.lawyer.identity) == scan.content
    stored = stored_state(app)

    # The same file uploaded again, under another name, is the same form: nothing more
    renamed = Upload("IMG_0001.jpg", scan.content)
    again = post_parts(client, "/request", help_request_parts(tokens, FIRST, files=[renamed]))
    assert again.status_code == 200
    assert CHANGES_ADDED not in again.get_data(as_text=True)
    assert stored_state(app) == stored


def test_reloading_a_corrected_form_that_sent_kept_files_shows_the_same_receipt(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a first try with a file and a missing answer, then the corrected form sent
    tokens = request_tokens(client, "/request?lang=ru")
    video = Upload("видео.mp4", b"\x00\x00\x00\x18ftypmp42" * 300)
    first = post_parts(client, "/request", help_request_parts(tokens, FIRST, files=[video], help_kind=""))
    assert first.status_code == 400
    corrected = [
        *help_request_parts(tokens, FIRST)[:-1],
        Text("kept_files", kept_files_on(first.get_data(as_text=True))),
        Upload("", b""),
    ]
    assert post_parts(client, "/request", corrected).status_code == 200
    stored = stored_state(app)

    # When the browser sends the corrected form again (its kept file is now part of the case)
    again = post_parts(client, "/request", corrected)

    # Then it is the same receipt, not a request to choose the file again
    page = again.get_data(as_text=True)
    assert again.status_code == 200, page
    assert codename_on(page) == tokens.codename
    assert CHANGES_ADDED not in page
    assert stored_state(app) == stored
    assert (stored.cases, stored.items, stored.attachments) == (1, 1, 1)


def test_the_digest_kept_of_what_was_sent_is_keyed_by_the_codename(
    app: Flask, db_session: Session, readers: ReadersFixture
) -> None:
    # Two submitters who send word for word the same request
    for _ in range(2):
        submitter = fresh_client(app)
        tokens = request_tokens(submitter, "/request?lang=ru")
        assert post_parts(submitter, "/request", help_request_parts(tokens, FIRST)).status_code == 200

    # leave digests that cannot be compared, nor tested against a guessed text, without the codename
    digests = [case.sent_form_digest for case in db_session.scalars(select(Case))]
    assert all(digest is not None and len(digest) == 32 for digest in digests)
    assert digests[0] != digests[1]


def _encrypted_request_with_file(
    client: FlaskClient, readers: ReadersFixture, message: str
) -> tuple[list[Text], bytes]:
    tokens = request_tokens(client, "/request?lang=ru")
    scan = b"scan of the summons " * 100
    location = upload_whole(client, tokens.csrf, age_cli_encrypt(pad(scan), recipients_of(readers)))
    upload_id = location.rsplit("/", 1)[1]
    meta = AttachmentMeta(attachment_id_of(upload_id), "повестка.jpg", "image/jpeg", len(scan))
    item = browser_item(readers, ItemPayload({"country": "Казахстан"}, message, (meta,)))
    return final_parts(tokens, readers, item, [upload_id]), scan


def test_an_encrypted_request_retried_as_sent_stores_once_and_a_re_encrypted_resend_is_added(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a request encrypted in the browser, with a file, stored once
    parts, _scan = _encrypted_request_with_file(client, readers, FIRST)
    assert post_parts(client, "/request/encrypted?lang=ru", parts).status_code == 200
    stored = stored_state(app)

    # When the script retries the very same post (its response was lost)
    retried = post_parts(client, "/request/encrypted?lang=ru", parts)

    # Then it gets the same receipt and nothing more is stored
    assert retried.status_code == 200, retried.get_data(as_text=True)
    assert CHANGES_ADDED not in retried.get_data(as_text=True)
    assert stored_state(app) == stored

    # When the page encrypts the form again (the server cannot tell an edit from a
    # re-encryption), it is not dropped: it becomes a further message
    edited_item = browser_item(readers, ItemPayload({"country": "Грузия"}, EDITED))
    resent = [
        Text(part.name, base64.b64encode(edited_item).decode()) if part.name == "encrypted_item" else part
        for part in parts
        if part.name != "encrypted_files"
    ]
    response = post_parts(client, "/request/encrypted?lang=ru", resent)
    assert response.status_code == 200
    assert "отправленное сейчас добавлено к вашему обращению как новое сообщение" in response.get_data(as_text=True)
    case = db_session.scalars(select(Case)).one()
    assert [item.kind for item in case.items] == [ItemKind.SUBMISSION, ItemKind.FOLLOW_UP]
    assert decrypt_item(case.items[1], readers.lawyer.identity).message == EDITED


def test_nothing_is_stored_for_a_resend_whose_form_codename_is_forged(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    forged = help_request_parts(tokens, FIRST)
    forged[1] = Text("form_codename", tokens.form_codename[:-6] + "AAAAAA")
    assert post_parts(client, "/request", forged).status_code == 400
    assert stored_state(app) == NOTHING_STORED


def test_the_same_form_sent_twice_at_once_stores_one_case_and_both_get_its_receipt(
    app: Flask, config: Config, db_session: Session
) -> None:
    """Both requests look for an earlier case before either writes: the second write finds the first's."""
    path = lock_file_path(db_session.connection())
    db_session.rollback()
    if path is None:
        pytest.skip("lining both writers up needs SQLite's writers' queue")
    set_recovery_key(db_session)
    create_lawyer(db_session)
    recipients = submission_recipients(db_session)
    db_session.rollback()
    assert recipients is not None
    codename = new_codename("ru")
    receipts: list[Receipt] = []

    def send() -> None:
        with session_factory(app)() as session:
            receipts.append(
                create_submission(session, config, recipients, codename, {}, FIRST, [], language="ru")
            )

    senders = [threading.Thread(target=send) for _ in range(2)]
    # Given both requests past their look-up and waiting to write
    with writers_queue(path):
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(1)
    for sender in senders:
        sender.join(30)
    # Then one case is stored, and both submitters hold its receipt
    assert len(receipts) == 2
    assert receipts[0] == receipts[1]
    assert db_session.scalars(select(Case.number)).all() == [receipts[0].case_number]
