"""A lawyer's day in Russian, in a real browser with JavaScript off, on real gunicorn's
lawyers' listener: told that something urgent arrived (without content), urgent case
first, search, assignment, a reply with a file that moves the case to waiting, and an
inbox that fits a phone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from intake.models import Attachment, Case, CaseStatus, Item, ItemKind
from tests.browser.navigation import click_and_wait_for, submit_and_wait_for
from tests.conftest import make_config
from tests.factories import create_lawyer, set_recovery_key
from tests.lawyer.helpers import totp_code
from tests.mail import ReceivedMail, smtp_server
from tests.servers import gunicorn
from tests.submit.multipart import codename_on, help_request_parts, post_parts, request_tokens

pytestmark = pytest.mark.browser

URGENT_TEXT = "Меня ищет военная полиция, я прячусь у знакомых"
CALM_TEXT = "Хочу узнать про статус беженца для брата"


@pytest.fixture
def smtp() -> Iterator[tuple[ReceivedMail, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, database_url: str, smtp: tuple[ReceivedMail, int]) -> Config:
    return make_config(tmp_path, database_url, INTAKE_SMTP_URL=f"smtp://127.0.0.1:{smtp[1]}")


@pytest.fixture
def lawyers_site(tmp_path: Path, database_url: str, smtp: tuple[ReceivedMail, int]) -> Iterator[str]:
    """The production server's lawyers' listener, configured as `app` is."""
    with gunicorn(tmp_path, database_url, INTAKE_SMTP_URL=f"smtp://127.0.0.1:{smtp[1]}") as server:
        yield f"http://localhost:{server.staff_port}"


def send_request(app: Flask, message: str, urgency: str, help_kind: str) -> None:
    submitter = app.test_client()
    submitter.environ_base["wsgi.url_scheme"] = "https"
    parts = help_request_parts(
        request_tokens(submitter, "/request?lang=ru"), message, urgency=urgency, help_kind=help_kind
    )
    codename_on(post_parts(submitter, "/request", parts).get_data(as_text=True))


def test_a_lawyers_day_in_russian(
    app: Flask,
    lawyers_site: str,
    browser: webdriver.Chrome,
    db_session: Session,
    smtp: tuple[ReceivedMail, int],
    tmp_path: Path,
) -> None:
    mail, _port = smtp
    set_recovery_key(db_session)
    lawyer = create_lawyer(db_session, email="yurist@example.org")

    # The lawyer logs in, in Russian, and asks to be told about urgent requests
    browser.get(lawyers_site + "/lawyer/login?lang=ru")
    browser.find_element(By.ID, "email").send_keys(lawyer.user.email)
    browser.find_element(By.ID, "passphrase").send_keys(lawyer.passphrase)
    browser.find_element(By.ID, "totp_code").send_keys(totp_code(lawyer.totp_secret, None))
    submit_and_wait_for(browser, "#submit", "Входящие")
    click_and_wait_for(browser, browser.find_element(By.LINK_TEXT, "Уведомления"), "Уведомления")
    browser.find_element(By.ID, "urgent_alerts").click()
    browser.find_element(By.ID, "daily_digest").click()
    submit_and_wait_for(browser, "#submit", "Настройки уведомлений сохранены.")

    # Overnight an urgent request arrives, then a calm one
    send_request(app, URGENT_TEXT, "danger_now", "desertion")
    send_request(app, CALM_TEXT, "weeks", "other")
    result = app.test_cli_runner().invoke(args=["intake", "notify"])
    assert result.exit_code == 0, result.output

    # The test mail server got an alert and a digest, with nothing from the cases in them
    received = mail.take()
    assert [to for to, _message in received] == [[lawyer.user.email], [lawyer.user.email]]
    for _to, message in received:
        raw = message.as_string()
        assert URGENT_TEXT not in raw and CALM_TEXT not in raw and "#1" not in raw and "#2" not in raw

    # The inbox puts the urgent case first, though the calm one is newer
    click_and_wait_for(browser, browser.find_element(By.LINK_TEXT, "Входящие"), "Мне угрожает опасность")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.inbox tbody tr")
    assert [row.find_element(By.TAG_NAME, "a").text for row in rows] == ["#1", "#2"]
    assert "urgent" in (rows[0].get_attribute("class") or "")
    assert "Мне угрожает опасность прямо сейчас" in rows[0].text
    assert "Русский" in rows[0].text

    # Search finds the calm case by a word from its message
    click_and_wait_for(browser, browser.find_element(By.LINK_TEXT, "Поиск"), "Что искать")
    browser.find_element(By.ID, "query").send_keys("беженца")
    page = submit_and_wait_for(browser, "#submit", "Найдено 1 дело")
    assert "статус беженца" in page

    # The lawyer takes the urgent case
    browser.get(lawyers_site + "/lawyer/cases/1")
    Select(browser.find_element(By.ID, "assignee")).select_by_visible_text(lawyer.user.email)
    page = submit_and_wait_for(browser, "form[action$='/assign'] [type=submit]", "Назначение сохранено.")
    assert f"Ответственный: {lawyer.user.email}" in page

    # and replies with a document; the case then waits for the submitter
    document = tmp_path / "памятка.pdf"
    document.write_bytes(b"%PDF-1.4 instructions")
    browser.find_element(By.ID, "reply-message").send_keys("Не выходите из дома, пришлите документы.")
    browser.find_element(By.ID, "reply-attachments").send_keys(str(document))
    page = submit_and_wait_for(browser, "form[action$='/reply'] button[type=submit]", "Ответ отправлен.")
    assert "Ждём ответа заявителя" in page
    assert "памятка.pdf" in page
    db_session.expire_all()
    case = db_session.scalars(select(Case).where(Case.number == 1)).one()
    assert case.status is CaseStatus.WAITING_FOR_SUBMITTER
    reply_files = db_session.scalars(select(Attachment).join(Item).where(Item.kind == ItemKind.REPLY)).all()
    assert len(reply_files) == 1

    # On a phone the inbox fits the screen: no sideways scrolling
    browser.set_window_size(375, 800)
    browser.get(lawyers_site + "/lawyer/")
    table = browser.find_element(By.CSS_SELECTOR, "table.inbox")
    body = browser.find_element(By.TAG_NAME, "body")
    assert table.rect["width"] <= body.rect["width"]
