"""A first help request: answers and files arrive encrypted, the codename is shown once."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CURRENT_CODENAME_VERSION, DecryptionError, derive_codename_keys, padded_length
from crypto.codename import RUSSIAN
from intake.models import Case, CaseStatus, ItemKind, ItemRecipient, Source, UserStatus
from intake.services.keyring import instance_keys
from intake.services.multipart_stream import READ_CHUNK_BYTES
from tests.factories import create_lawyer, set_recovery_key
from tests.submit.helpers import (
    NOTHING_STORED,
    ReadersFixture,
    decrypt_attachment,
    decrypt_item,
    stored_state,
)
from tests.submit.multipart import (
    Upload,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    request_tokens,
)


def _only_case(session: Session) -> Case:
    return session.scalars(select(Case)).one()


def test_russian_request_with_a_cyrillic_file_reaches_the_lawyer_and_the_recovery_key(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a Russian-speaking submitter
    token = request_tokens(client, "/request?lang=ru")
    message = "Я ушёл из части в марте.\nНужна консультация: что мне грозит?"
    scan = "Повестка — скан страницы 1.pdf"
    scan_bytes = b"%PDF-1.4 \xd0\x9f\x00\xff"

    # When they send the form with a file
    response = post_parts(
        client,
        "/request",
        help_request_parts(token, message, [Upload(scan, scan_bytes, content_type="application/pdf")]),
    )

    # Then the receipt, in Russian, shows a codename of eight Russian words
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ваше обращение отправлено" in page
    codename = codename_on(page)
    assert set(codename.split()) <= set(RUSSIAN.words)
    assert len(codename.split()) == RUSSIAN.words_per_codename == 8
    assert '<p class="codename" id="codename" lang="ru">' in page

    # And a new case holds one item the lawyer and the recovery key can read
    case = _only_case(db_session)
    assert case.status is CaseStatus.NEW
    assert (case.number, case.item_count, case.activity_seq) == (1, 1, 1)
    assert case.created_day == case.last_activity_day == dt.datetime.now(dt.UTC).date()
    item = case.items[0]
    assert (item.kind, item.seq, item.visible_to_source) == (ItemKind.SUBMISSION, 1, False)
    for identity in (readers.lawyer.identity, readers.recovery):
        payload = decrypt_item(item, identity)
        assert payload.message == message
        assert payload.fields == {
            "help_kind": "desertion",
            "country": "Грузия",
            "urgency": "days",
            "contact_preference": "this_site",
            "contact_value": "",
        }
        assert [(meta.filename, meta.content_type, meta.size) for meta in payload.attachments] == [
            (scan, "application/pdf", len(scan_bytes))
        ]
        assert decrypt_attachment(app, item.attachments[0], identity) == scan_bytes
    assert [row.user_id for row in db_session.scalars(select(ItemRecipient))] == [readers.lawyer.user.id]

    # And the source is known only by what the codename derives; it cannot read its own message
    keys = derive_codename_keys(codename, instance_keys(db_session).codename_salt, CURRENT_CODENAME_VERSION)
    source = db_session.scalars(select(Source)).one()
    assert (source.codename_lookup_id, source.codename_version, source.reply_recipient) == (
        keys.lookup_id,
        CURRENT_CODENAME_VERSION,
        keys.identity.recipient,
    )
    with pytest.raises(DecryptionError):
        decrypt_item(item, keys.identity)


def test_ukrainian_text_and_filenames(
    client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    token = request_tokens(client, "/request?lang=uk")
    message = "Мого брата затримали біля кордону. Що робити? Ґанок, їжа, є'."
    files = [Upload("Довідка про затримання (копія).jpg", b"\xff\xd8\xff", content_type="image/jpeg")]
    response = post_parts(
        client, "/request", help_request_parts(token, message, files, help_kind="detained_relative")
    )
    assert response.status_code == 200
    assert "Ваше звернення надіслано" in response.get_data(as_text=True)
    payload = decrypt_item(_only_case(db_session).items[0], readers.lawyer.identity)
    assert payload.message == message
    assert payload.fields["help_kind"] == "detained_relative"
    assert payload.attachments[0].filename == "Довідка про затримання (копія).jpg"


@pytest.mark.parametrize(
    "sizes",
    [
        pytest.param([0], id="empty-file"),
        pytest.param([READ_CHUNK_BYTES], id="exactly-one-chunk"),
        pytest.param(
            [READ_CHUNK_BYTES - 1, READ_CHUNK_BYTES + 1, 3 * READ_CHUNK_BYTES, 1], id="several-files"
        ),
    ],
)
def test_files_of_edge_sizes_arrive_intact(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture, sizes: list[int]
) -> None:
    contents = [bytes((index + offset) % 251 for offset in range(size)) for index, size in enumerate(sizes)]
    # The boundary's line break right after a chunk-sized file must not end up in the file.
    uploads = [Upload(f"файл-{index}.bin", content) for index, content in enumerate(contents)]
    response = post_parts(
        client, "/request", help_request_parts(request_tokens(client, "/request"), files=uploads)
    )
    assert response.status_code == 200
    item = _only_case(db_session).items[0]
    payload = decrypt_item(item, readers.lawyer.identity)
    assert [meta.size for meta in payload.attachments] == sizes
    assert [meta.attachment_id for meta in payload.attachments] == [str(row.id) for row in item.attachments]
    assert [decrypt_attachment(app, row, readers.lawyer.identity) for row in item.attachments] == contents
    # What the database and the disk see is the padded size, never the exact one.
    for row, size in zip(item.attachments, sizes, strict=True):
        assert row.ciphertext_size > padded_length(size)
        assert (
            row.ciphertext_size
            == (app.config["INTAKE"].blob_dir / row.blob_name[:2] / f"{row.blob_name}.age").stat().st_size
        )


def test_filenames_lose_client_directories(
    client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # A backslash travels escaped inside the quoted filename, as old Windows browsers sent paths.
    uploads = [Upload("../../etc/паспорт.png", b"png"), Upload("C:\\\\Users\\\\Иван\\\\скан.png", b"png")]
    post_parts(client, "/request", help_request_parts(request_tokens(client, "/request"), files=uploads))
    payload = decrypt_item(_only_case(db_session).items[0], readers.lawyer.identity)
    assert [meta.filename for meta in payload.attachments] == ["паспорт.png", "скан.png"]


def test_case_numbers_count_up(client: FlaskClient, db_session: Session, readers: ReadersFixture) -> None:
    for _ in range(2):
        assert (
            post_parts(client, "/request", help_request_parts(request_tokens(client, "/request"))).status_code
            == 200
        )
    assert sorted(db_session.scalars(select(Case.number))) == [1, 2]


def test_a_message_of_the_full_length_is_accepted(
    client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    message = "щ" * 100_000
    response = post_parts(client, "/request", help_request_parts(request_tokens(client, "/request"), message))
    assert response.status_code == 200
    assert decrypt_item(_only_case(db_session).items[0], readers.lawyer.identity).message == message


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        pytest.param({"help_kind": ""}, "Пожалуйста, выберите один из вариантов.", id="no-kind-of-help"),
        pytest.param({"help_kind": "<script>"}, "Неверный вариант", id="unknown-choice"),
        pytest.param({"contact_preference": "signal"}, "укажите номер или адрес", id="signal-without-number"),
        pytest.param({"message": "я" * 100_001}, "Максимальная длина", id="message-too-long"),
        pytest.param({"message": "  "}, "напишите хотя бы несколько слов", id="no-message"),
    ],
)
def test_an_invalid_form_is_shown_again_with_its_file_kept_encrypted(
    app: Flask, client: FlaskClient, readers: ReadersFixture, answers: dict[str, str], expected: str
) -> None:
    token = request_tokens(client, "/request?lang=ru")
    message = answers.pop("message", "Помогите")
    parts = help_request_parts(token, message, [Upload("документ.txt", b"secret words")], **answers)
    response = post_parts(client, "/request", parts)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert expected in page
    assert "<li>документ.txt</li>" in page
    assert "<script>" not in page
    state = stored_state(app)
    assert (state.sources, state.cases, state.items, state.attachments) == (0, 0, 0, 0)
    assert [path.parent.name for path in state.blob_files] == ["kept"]


@pytest.mark.parametrize("world", ["empty", "pending-lawyer", "no-recovery-key"])
def test_without_a_vetted_reader_nothing_is_accepted(
    app: Flask, client: FlaskClient, db_session: Session, world: str
) -> None:
    if world == "pending-lawyer":
        create_lawyer(db_session, status=UserStatus.PENDING)
        set_recovery_key(db_session)
    elif world == "no-recovery-key":
        create_lawyer(db_session)
    page = client.get("/request?lang=ru").get_data(as_text=True)
    assert "Обращения пока не принимаются" in page
    assert "<form" not in page
    # A form kept open from before (or a bot) cannot store anything either.
    token = csrf_token(client, "/codename")
    response = post_parts(client, "/request", help_request_parts(token, files=[Upload("a.txt", b"x")]))
    assert response.status_code == 503
    assert "Обращения пока не принимаются" in response.get_data(as_text=True)
    assert stored_state(app) == NOTHING_STORED
