"""A form whose browser session ended before it was sent, in Chromium with JavaScript off, over real gunicorn:
it comes back in Russian with the text kept and a new codename, and then it is sent."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Case
from tests.browser.navigation import submit_and_wait_for
from tests.gunicorn_server import running_gunicorn
from tests.submit.helpers import create_readers, decrypt_attachment, decrypt_item

MESSAGE = "Брат получил повестку, но он единственный кормилец в семье. Можно ли отказаться?"


def test_a_form_sent_after_the_session_ended_comes_back_whole_under_a_new_codename(
    app: Flask, browser: webdriver.Chrome, db_session: Session, tmp_path: Path, database_url: str
) -> None:
    readers = create_readers(db_session)
    summons = tmp_path / "повестка.txt"
    summons.write_bytes("Повестка: явиться 5-го числа".encode())
    with running_gunicorn(tmp_path, database_url) as (_host, port):
        # Given the Russian form, filled in, while the browser session ends (cookies cleared)
        browser.get(f"http://localhost:{port}/request?lang=ru")
        shown_first = browser.find_element(By.ID, "codename").text.strip()
        browser.find_element(By.CSS_SELECTOR, "input[name=help_kind][value=mobilisation]").click()
        browser.find_element(By.ID, "country").send_keys("Россия")
        browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=days]").click()
        browser.find_element(By.ID, "message").send_keys(MESSAGE)
        browser.find_element(By.ID, "attachments").send_keys(str(summons))
        browser.delete_all_cookies()

        # When it is sent
        page = submit_and_wait_for(browser, "form button[type=submit]", "Срок действия формы истёк")

        # Then it comes back with the text, asks for the file again, and shows a new codename
        assert "Ваша кодовая фраза сменилась" in page
        assert "«повестка.txt» не сохранён" in page
        assert browser.find_element(By.ID, "message").get_attribute("value") == MESSAGE
        assert browser.find_element(By.ID, "country").get_attribute("value") == "Россия"
        codename = browser.find_element(By.ID, "codename").text.strip()
        assert codename != shown_first
        assert db_session.scalars(select(Case)).all() == []

        # When the file is chosen again and the form sent
        browser.find_element(By.ID, "attachments").send_keys(str(summons))
        submit_and_wait_for(browser, "form button[type=submit]", "Ваше обращение отправлено")

        # Then the receipt shows the new codename, and the lawyer reads everything
        assert browser.find_element(By.ID, "codename").text.strip() == codename
    case = db_session.scalars(select(Case)).one()
    assert decrypt_item(case.items[0], readers.lawyer.identity).message == MESSAGE
    assert decrypt_attachment(app, case.items[0].attachments[0], readers.lawyer.identity) == summons.read_bytes()
