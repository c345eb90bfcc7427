"""Search: decrypts what the lawyer can read for one request, and keeps nothing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config
from intake.services import search as search_service
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.helpers import csrf_token, log_in, submit_directly, totp_code, unescape
from tests.test_canary import database_rows


def search(client: FlaskClient, query: str) -> tuple[int, str]:
    token = csrf_token(client.get("/lawyer/search").get_data(as_text=True))
    response = client.post("/lawyer/search", data={"csrf_token": token, "query": query})
    return response.status_code, unescape(response.get_data(as_text=True))


def found(page: str) -> list[int]:
    return sorted(int(number) for number in re.findall(r'href="/lawyer/cases/(\d+)">#', page))


def test_finds_words_in_messages_answers_and_file_names_whatever_their_case(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    deserter = submit_directly(db_session, config, "Я покинул часть под Белгородом в марте").number
    relative = submit_directly(
        db_session, config, "Брат задержан", fields={"country": "Казахстан"}
    ).number
    with_file = submit_directly(
        db_session,
        config,
        "см. файл",
        files=[("Повестка-военкомат.pdf", "application/pdf", b"%PDF")],
    ).number

    status, page = search(lawyer_client, "белгородом")
    assert status == 200 and found(page) == [deserter]
    assert "Я покинул часть под Белгородом в марте" in page
    assert found(search(lawyer_client, "казахстан")[1]) == [relative]
    assert found(search(lawyer_client, "повестка")[1]) == [with_file]
    assert found(search(lawyer_client, "нигде такого нет")[1]) == []


def test_a_lawyer_finds_only_what_their_key_opens(
    client: FlaskClient, lawyer: LawyerFixture, db_session: Session, config: Config
) -> None:
    submit_directly(db_session, config, "секретное слово")
    newcomer = create_lawyer(db_session, email="newcomer@example.org")
    log_in(client, newcomer.user.email, newcomer.passphrase, totp_code(newcomer.totp_secret, None))
    assert found(search(client, "секретное")[1]) == []


@pytest.mark.parametrize("query", ["", "я", "x" * 201])
def test_a_query_too_short_or_too_long_is_refused_clearly(lawyer_client: FlaskClient, query: str) -> None:
    status, page = search(lawyer_client, query)
    assert status == 400
    assert "between 2 and 200 characters" in page or "This field is required" in page


def test_the_query_is_kept_nowhere(
    app: Flask,
    lawyer_client: FlaskClient,
    db_session: Session,
    config: Config,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    submit_directly(db_session, config, "обычный текст")
    search(lawyer_client, "искомоеслово")
    assert "искомоеслово" not in caplog.text
    assert "искомоеслово".encode() not in database_rows(app)


def test_a_search_stops_at_its_limits_and_says_so(
    lawyer_client: FlaskClient, db_session: Session, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The limits made small for the test
    monkeypatch.setattr(search_service, "MAX_CASES_SCANNED", 3)
    monkeypatch.setattr(search_service, "ITEM_BATCH", 2)
    numbers = [submit_directly(db_session, config, f"дело номер {i}").number for i in range(5)]
    _status, page = search(lawyer_client, "дело номер")
    # most recently active first: the highest numbers, all from today
    assert found(page) == sorted(numbers[-3:])
    assert 'id="search-incomplete"' in page
    monkeypatch.setattr(search_service, "MAX_CASES_SCANNED", 10)
    monkeypatch.setattr(search_service, "MAX_HITS", 2)
    _status, page = search(lawyer_client, "дело номер")
    assert len(found(page)) == 2 and 'id="search-incomplete"' in page
    _status, page = search(lawyer_client, "номер 0")
    assert found(page) == [numbers[0]] and 'id="search-incomplete"' not in page
