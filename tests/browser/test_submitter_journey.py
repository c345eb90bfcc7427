"""A submitter in a real browser with JavaScript off: ask in Russian, come back, read the reply."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Case, CaseStatus
from tests.submit.helpers import add_reply, create_readers, decrypt_attachment, decrypt_item

pytestmark = pytest.mark.browser

MESSAGE = "Меня мобилизовали, но я не хочу воевать. Я сейчас в Казахстане. Что мне делать?"
FOLLOW_UP = "Спасибо. Посылаю вторую страницу."
REPLY = "Здравствуйте! Мы можем помочь. Пришлите, пожалуйста, вторую страницу повестки."


def submit_and_wait_for(browser: webdriver.Chrome, button: str, expected_text: str) -> str:
    """Click a submit button and return the next page's text once it shows `expected_text`.

    A click does not always wait for the navigation it starts (a POST
    answered by a redirect), so wait for the old page to go and the new one
    to say what it should.
    """
    old_page = browser.find_element(By.TAG_NAME, "html")
    browser.find_element(By.CSS_SELECTOR, button).click()
    wait = WebDriverWait(
        browser, 30, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    )
    wait.until(staleness_of(old_page))
    wait.until(lambda driver: expected_text in driver.find_element(By.TAG_NAME, "main").text)
    return str(browser.find_element(By.TAG_NAME, "main").text)


def test_ask_in_russian_with_a_file_then_come_back_with_the_codename(
    app: Flask, live_server: str, browser: webdriver.Chrome, db_session: Session, tmp_path: Path
) -> None:
    readers = create_readers(db_session)
    scan = tmp_path / "повестка стр 1.txt"
    scan.write_bytes("Повестка: явиться в военкомат".encode())

    # Given the Russian landing page, without JavaScript
    browser.get(live_server + "/?lang=ru")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    browser.find_element(By.LINK_TEXT, "Написать юристу").click()

    # When the submitter fills in the form, attaches a file and sends it
    kind = (By.CSS_SELECTOR, "input[name=help_kind][value=mobilisation]")
    WebDriverWait(browser, 30).until(lambda driver: driver.find_elements(*kind))
    browser.find_element(*kind).click()
    browser.find_element(By.ID, "country").send_keys("Казахстан")
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=danger_now]").click()
    browser.find_element(By.ID, "message").send_keys(MESSAGE)
    browser.find_element(By.ID, "attachments").send_keys(str(scan))
    submit_and_wait_for(browser, "form button[type=submit]", "Ваше обращение отправлено")

    # Then the receipt shows a seven-word codename once
    codename = browser.find_element(By.ID, "codename").text.strip()
    assert len(codename.split()) == 7

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
    assert "Юрист работает над вашим делом." in page
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
