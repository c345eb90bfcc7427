"""Coming back with the codename: replies and status, never one's own words; follow-ups."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.codename import closest_word
from intake import create_app
from intake.db import engine
from intake.models import Case, CaseStatus, ItemKind
from intake.services.sources import current_login
from tests.conftest import make_config
from tests.submit.helpers import ReadersFixture, add_reply, decrypt_attachment, decrypt_item, stored_state
from tests.submit.multipart import (
    Text,
    Upload,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    request_tokens,
)

OWN_MESSAGE = "Мой командир угрожал мне. Это мои собственные слова."


def submit(client: FlaskClient) -> str:
    parts = help_request_parts(request_tokens(client, "/request?lang=ru"), OWN_MESSAGE, [Upload("мой файл.txt", b"mine")])
    return codename_on(post_parts(client, "/request", parts).get_data(as_text=True))


def log_in(client: FlaskClient, codename: str, lang: str = "ru") -> str:
    token = csrf_token(client, f"/codename?lang={lang}")
    response = client.post("/codename", data={"csrf_token": token, "codename": codename})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_codename_shows_replies_and_status_but_not_ones_own_messages(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    codename = submit(client)
    add_reply(
        app, db_session, readers, "Здравствуйте! Пришлите, пожалуйста, копию повестки.\n<b>не разметка</b>"
    )
    db_session.scalars(select(Case)).one().status = CaseStatus.WAITING_FOR_SUBMITTER
    db_session.commit()

    # A fresh browser, as on another day
    returning = app.test_client()
    returning.environ_base["wsgi.url_scheme"] = "https"
    page = log_in(returning, codename.upper().replace(" ", "-"))

    assert "Пришлите, пожалуйста, копию повестки." in page
    assert "&lt;b&gt;не разметка&lt;/b&gt;" in page
    assert "Юрист ждёт вашего ответа" in page
    assert OWN_MESSAGE not in page
    assert "мой файл.txt" not in page
    assert "Грузия" not in page


def test_before_any_reply_the_page_says_so(client: FlaskClient, readers: ReadersFixture) -> None:
    page = log_in(client, submit(client), lang="uk")
    assert "Відповідей поки немає" in page
    assert "Отримано. Юрист незабаром прочитає ваше звернення." in page


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("word", id="too-short"),
        pytest.param("abacus abdomen abdominal abide abiding ability ablaze", id="unknown-codename"),
    ],
)
def test_a_wrong_codename_is_refused_with_one_message(
    client: FlaskClient, readers: ReadersFixture, typed: str
) -> None:
    submit(client)
    token = csrf_token(client, "/codename?lang=ru")
    response = client.post("/codename", data={"csrf_token": token, "codename": typed})
    assert response.status_code == 400
    assert "Такая кодовая фраза здесь не найдена" in response.get_data(as_text=True)
    assert client.get("/replies").status_code == 302


def test_a_word_in_no_list_is_named_with_the_closest_word(client: FlaskClient, readers: ReadersFixture) -> None:
    # Given a Russian codename with one word misspelt
    codename = submit(client).split()
    misspelt = codename[:2] + [codename[2][:-1] + "ъ"] + codename[3:]
    token = csrf_token(client, "/codename?lang=ru")

    # When it is typed in
    response = client.post("/codename", data={"csrf_token": token, "codename": " ".join(misspelt)})

    # Then the page names the third word and suggests a list word close to it, and keeps what was typed
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    suggestion = closest_word(misspelt[2], codename)
    assert f"Слово 3, «{misspelt[2]}», не входит в слова кодовых фраз." in page
    assert f"Может быть, вы имели в виду «{suggestion}»?" in page
    assert f'value="{" ".join(misspelt)}"' in page
    assert 'type="password"' in page
    assert client.get("/replies").status_code == 302


def test_codename_is_accepted_with_yo_case_spacing_and_latin_look_alikes(
    client: FlaskClient, readers: ReadersFixture
) -> None:
    # Given a Russian codename, typed in capitals with ё for е, Latin letters
    # for their Cyrillic look-alikes, and stray spaces and hyphens
    codename = submit(client)
    latin = str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX")
    typed = "  " + "- ".join(codename.replace("е", "ё").upper().translate(latin).split()) + " "
    assert not set(typed) & set("АВЕКМНОРСТХ")

    # Then it opens the case
    assert "Ответов пока нет" in log_in(client, typed)


def test_an_english_codename_from_before_still_logs_in_on_a_russian_page(
    client: FlaskClient, readers: ReadersFixture
) -> None:
    # Given a codename issued on the English page, seven English words as before
    parts = help_request_parts(request_tokens(client, "/request?lang=en"), OWN_MESSAGE, [])
    codename = codename_on(post_parts(client, "/request", parts).get_data(as_text=True))
    assert len(codename.split()) == 7 and codename.isascii()

    # When the submitter comes back on the Russian page, then it works
    assert "Ответов пока нет" in log_in(client, codename, lang="ru")


@pytest.fixture
def login_limited_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = create_app(make_config(tmp_path, database_url, INTAKE_LOGIN_RATE_LIMIT="3 per hour"))
    yield app
    engine(app).dispose()


def test_codename_guessing_is_throttled(login_limited_app: Flask, readers: ReadersFixture) -> None:
    client = login_limited_app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    codename = submit(client)
    token = csrf_token(client, "/codename?lang=ru")
    for _ in range(3):
        wrong = client.post("/codename", data={"csrf_token": token, "codename": "abacus " * 7})
        assert wrong.status_code == 400
    # Even the right codename waits now: the limit counts attempts, not failures.
    response = client.post("/codename", data={"csrf_token": token, "codename": codename})
    assert response.status_code == 429
    assert "Попробуйте снова примерно через" in response.get_data(as_text=True)


def test_the_session_keeps_the_codename_key_only_sealed(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    codename = submit(client)
    log_in(client, codename)
    with client.session_transaction() as session:
        cookie = dict(session)
    stored = json.dumps(cookie)
    assert "AGE-SECRET-KEY" not in stored
    assert codename.split()[0] not in stored

    # The same cookie values under another server secret open nothing.
    assert current_login(db_session, dict(cookie), app.config["SECRET_KEY"]) is not None
    assert current_login(db_session, dict(cookie), b"another-secret-key-that-is-long-enough-012345") is None


def test_the_session_expires_and_logout_forgets_it(client: FlaskClient, readers: ReadersFixture) -> None:
    log_in(client, submit(client))
    with client.session_transaction() as session:
        session["source_expires"] = 1
    assert client.get("/replies").status_code == 302

    log_in(client, submit(client))
    token = csrf_token(client, "/replies")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/replies").status_code == 302
    with client.session_transaction() as session:
        assert "source_identity" not in session


def test_a_follow_up_with_files_is_added_to_the_case(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    log_in(client, submit(client))
    token = csrf_token(client, "/replies")
    files = [
        Upload("копия повестки.jpg", b"\xff\xd8 jpeg", content_type="image/jpeg"),
        Upload("заявление.txt", "текст".encode()),
    ]
    parts = [Text("csrf_token", token), Text("message", "Вот копия повестки.\r\nИ заявление."), *files]
    response = post_parts(client, "/replies?lang=ru", parts)
    assert response.status_code == 302
    assert "Ваше сообщение зашифровано и отправлено юристам." in client.get("/replies").get_data(as_text=True)

    case = db_session.scalars(select(Case)).one()
    assert (case.item_count, case.activity_seq) == (2, 2)
    follow_up = case.items[1]
    assert (follow_up.kind, follow_up.seq, follow_up.visible_to_source) == (ItemKind.FOLLOW_UP, 2, False)
    payload = decrypt_item(follow_up, readers.lawyer.identity)
    assert payload.message == "Вот копия повестки.\nИ заявление."
    assert [meta.filename for meta in payload.attachments] == ["копия повестки.jpg", "заявление.txt"]
    assert decrypt_attachment(app, follow_up.attachments[1], readers.recovery) == "текст".encode()


def test_an_empty_follow_up_is_refused(app: Flask, client: FlaskClient, readers: ReadersFixture) -> None:
    log_in(client, submit(client))
    before = stored_state(app)
    response = post_parts(
        client,
        "/replies?lang=ru",
        [Text("csrf_token", csrf_token(client, "/replies")), Text("message", " "), Upload("", b"")],
    )
    assert response.status_code == 400
    assert "Напишите сообщение или выберите хотя бы один файл." in response.get_data(as_text=True)
    assert stored_state(app) == before


def test_reply_files_download_only_for_their_source(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    codename = submit(client)
    reply = add_reply(
        app, db_session, readers, "См. файл", {"ответ юриста.txt": b"<script>alert(1)</script>"}
    )
    page = log_in(client, codename)
    attachment_id = reply.attachments[0].id
    url = f"/replies/{reply.id}/files/{attachment_id}"
    assert url in page

    response = client.get(url)
    assert response.status_code == 200
    assert response.data == b"<script>alert(1)</script>"
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%D0%BE%D1%82%D0%B2%D0%B5%D1%82" in response.headers["Content-Disposition"]

    # Another submitter cannot fetch it, even knowing the address.
    stranger = app.test_client()
    stranger.environ_base["wsgi.url_scheme"] = "https"
    log_in(stranger, submit(stranger))
    assert stranger.get(url).status_code == 404


def progress_line(page: str) -> str:
    match = re.search(r'<p class="notice" id="case-progress">([^<]+)</p>', page)
    assert match, "no status line on the page"
    return match.group(1)


def test_the_status_line_follows_the_submitters_message_and_the_lawyers_reply(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a case a lawyer works on and that is waiting for the submitter
    log_in(client, submit(client))
    case = db_session.scalars(select(Case)).one()
    case.status = CaseStatus.WAITING_FOR_SUBMITTER
    db_session.commit()
    assert progress_line(client.get("/replies").get_data(as_text=True)).startswith("Юрист ждёт вашего ответа")

    # When the submitter writes again, then the line says the lawyers have it
    parts = [Text("csrf_token", csrf_token(client, "/replies")), Text("message", "Вот мой ответ.")]
    assert post_parts(client, "/replies?lang=ru", parts).status_code == 302
    page = client.get("/replies").get_data(as_text=True)
    assert progress_line(page) == "Юристы получили ваше новое сообщение. Юрист ответит здесь."

    # When a lawyer replies while working on the case, then the line says a lawyer answered
    db_session.expire_all()
    db_session.scalars(select(Case)).one().status = CaseStatus.IN_PROGRESS
    db_session.commit()
    add_reply(app, db_session, readers, "Получили, спасибо.")
    page = client.get("/replies").get_data(as_text=True)
    assert progress_line(page) == "Юрист ответил. Прочитайте ответ ниже."


@pytest.mark.parametrize(
    ("kind", "ru_label"),
    [
        ("relative_left_unit", "Кто-то из моих родственников ушёл из своей части"),
        ("relative_avoiding_mobilisation", "Кто-то из моих родственников скрывается от мобилизации"),
        ("relative_missing", "Кто-то из моих родственников пропал без вести"),
    ],
)
def test_a_relative_can_say_what_happened_to_their_relative(
    client: FlaskClient, db_session: Session, readers: ReadersFixture, kind: str, ru_label: str
) -> None:
    form = client.get("/request?lang=ru").get_data(as_text=True)
    assert f'value="{kind}"' in form and ru_label in form
    tokens = request_tokens(client, "/request?lang=ru")
    response = post_parts(client, "/request", help_request_parts(tokens, "Мой сын ушёл из части.", [], help_kind=kind))
    assert response.status_code == 200
    item = db_session.scalars(select(Case)).one().items[0]
    assert decrypt_item(item, readers.lawyer.identity).fields["help_kind"] == kind
