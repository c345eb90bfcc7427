"""A submitter in a real browser with JavaScript off: ask in Russian, come back, read the reply."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.codename import RUSSIAN
from intake.models import Case, CaseStatus
from tests.browser.navigation import click_and_wait_for, submit_and_wait_for
from tests.submit.helpers import add_reply, create_readers, decrypt_attachment, decrypt_item

MESSAGE = "Меня мобилизовали, но я не хочу воевать. Я сейчас в Казахстане. Что мне делать?"
FOLLOW_UP = "Спасибо. Посылаю вторую страницу."
REPLY = "Здравствуйте! Мы можем помочь. Пришлите, пожалуйста, вторую страницу повестки."


def test_ask_in_russian_with_a_file_then_come_back_with_the_codename(
    app: Flask, live_server: str, browser: webdriver.Chrome, db_session: Session, tmp_path: Path
) -> None:
    readers = create_readers(db_session)
    scan = tmp_path / "повестка стр 1.txt"
    scan.write_bytes("Повестка: явиться в военкомат".encode())

    # Given the Russian landing page, without JavaScript
    browser.get(live_server + "/?lang=ru")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    click_and_wait_for(browser, browser.find_element(By.LINK_TEXT, "Написать юристу"), "")

    # When the submitter fills in the form, attaches a file and sends it
    kind = (By.CSS_SELECTOR, "input[name=help_kind][value=mobilisation]")
    browser.find_element(*kind).click()
    browser.find_element(By.ID, "country").send_keys("Казахстан")
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=danger_now]").click()
    browser.find_element(By.ID, "message").send_keys(MESSAGE)
    browser.find_element(By.ID, "attachments").send_keys(str(scan))
    held_before_sending = browser.find_element(By.ID, "codename").text.strip()
    submit_and_wait_for(browser, "form button[type=submit]", "Ваше обращение отправлено")

    # Then the receipt shows the codename of eight Russian words that the form showed before sending
    codename = browser.find_element(By.ID, "codename").text.strip()
    assert len(codename.split()) == 8
    assert set(codename.split()) <= set(RUSSIAN.words)
    assert codename == held_before_sending

    # And has them type it back once before they leave
    browser.find_element(By.ID, "typed_codename").send_keys(codename)
    submit_and_wait_for(browser, "form.codename-check button[type=submit]", "Кодовая фраза у вас")

    # And the lawyer can read what was sent, file name and content included
    case = db_session.scalars(select(Case)).one()
    payload = decrypt_item(case.items[0], readers.lawyer.identity)
    assert payload.message == MESSAGE
    assert payload.fields["help_kind"] == "mobilisation"
    assert payload.fields["urgency"] == "danger_now"
    assert payload.attachments[0].filename == "повестка стр 1.txt"
    assert decrypt_attachment(app, case.items[0].attachments[0], readers.lawyer.identity) == scan.read_bytes()

    # Given a lawyer's reply, and a later visit in a browser that kept nothing
    add_reply(app, db_session, readers, REPLY)
    case.status = CaseStatus.IN_PROGRESS
    db_session.commit()
    browser.delete_all_cookies()

    # When the submitter types the codename
    browser.get(live_server + "/codename?lang=ru")
    browser.find_element(By.ID, "codename").send_keys(codename)
    page = submit_and_wait_for(browser, "form button[type=submit]", REPLY)

    # Then they see the reply and the status in plain words, but not what they wrote
    assert "Юрист ответил. Прочитайте ответ ниже." in page
    assert MESSAGE not in page

    # And they can write again with another file
    second = tmp_path / "стр 2.txt"
    second.write_bytes(b"page 2")
    browser.find_element(By.ID, "message").send_keys(FOLLOW_UP)
    browser.find_element(By.ID, "attachments").send_keys(str(second))
    submit_and_wait_for(
        browser, "main form button[type=submit]", "Ваше сообщение зашифровано и отправлено юристам."
    )
    db_session.expire_all()
    follow_up = db_session.scalars(select(Case)).one().items[-1]
    assert decrypt_item(follow_up, readers.lawyer.identity).message == FOLLOW_UP

    # And logging out ends the session
    submit_and_wait_for(browser, "form.logout button", "Написать юристу")
    browser.get(live_server + "/replies")
    assert browser.current_url.endswith("/codename")
