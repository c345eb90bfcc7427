"""With JavaScript on, uploads show their progress; the outcome is the same page as without."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from crypto.codename import RUSSIAN
from intake.models import Case
from tests.browser.navigation import NAVIGATION_TIMEOUT, submit_and_wait_for, wait_for_main_text
from tests.conftest import make_config
from tests.submit.helpers import (
    NOTHING_STORED,
    create_readers,
    decrypt_attachment,
    decrypt_item,
    stored_state,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

MIB = 1024 * 1024
MESSAGE = "Прошу помочь: повестка во вложении."
# Slow enough that the page shows the upload under way, as it would over Tor.
UPLOAD_BYTES_PER_SECOND = 2 * MIB


def _fill_in_the_russian_form(browser: webdriver.Chrome, live_server: str, attachment: Path | None) -> None:
    browser.get(live_server + "/request?lang=ru")
    _fill_in_the_russian_form_again(browser, attachment, message=MESSAGE)


def _fill_in_the_russian_form_with_a_video(
    browser: webdriver.Chrome, live_server: str, tmp_path: Path, size: int
) -> None:
    video = tmp_path / "видео.mp4"
    video.write_bytes(bytes(size))
    _fill_in_the_russian_form(browser, live_server, video)


def _fill_in_the_russian_form_again(
    browser: webdriver.Chrome, attachment: Path | None, message: str = ""
) -> None:
    browser.find_element(By.CSS_SELECTOR, "input[name=help_kind][value=mobilisation]").click()
    browser.find_element(By.ID, "country").send_keys("Казахстан")
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=danger_now]").click()
    browser.find_element(By.ID, "message").send_keys(message)
    if attachment is not None:
        browser.find_element(By.ID, "attachments").send_keys(str(attachment))


def _waiting(browser: webdriver.Chrome) -> WebDriverWait[webdriver.Chrome]:
    # The page is replaced when the response arrives, so elements found before may go stale.
    return WebDriverWait(
        browser,
        NAVIGATION_TIMEOUT,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    )


def _throttle_uploads(browser: webdriver.Chrome) -> None:
    browser.set_network_conditions(
        offline=False, latency=0, download_throughput=-1, upload_throughput=UPLOAD_BYTES_PER_SECOND
    )


def test_a_file_upload_shows_its_progress_then_the_codename(
    app: Flask,
    live_server: str,
    browser_with_javascript: webdriver.Chrome,
    db_session: Session,
    tmp_path: Path,
) -> None:
    browser = browser_with_javascript
    readers = create_readers(db_session)
    scan = tmp_path / "повестка.pdf"
    scan.write_bytes(bytes(range(256)) * (6 * MIB // 256))

    # Given the Russian form filled in with a 6 MiB file, on a slow link
    _fill_in_the_russian_form(browser, live_server, scan)
    _throttle_uploads(browser)
    app.wsgi_app = _SlowChunks(app.wsgi_app)  # type: ignore[method-assign]

    # When the submitter sends it
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    # Then a progress bar counts the whole body, in Russian, and the button waits
    wait = _waiting(browser)
    progress = wait.until(lambda driver: driver.find_element(By.CSS_SELECTOR, "form progress"))
    wait.until(lambda _driver: int(progress.get_attribute("value") or 0) > 0)
    # Counted in the file's own bytes: with JavaScript on it is encrypted here and sent as ciphertext
    assert int(progress.get_attribute("max") or 0) == scan.stat().st_size
    status = browser.find_element(By.CSS_SELECTOR, "form .upload-status").text
    assert status.startswith("Отправлено ") and "МБ из 6,0 МБ" in status, status
    assert not browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").is_enabled()

    # And the receipt replaces the form once the server has stored it
    wait_for_main_text(browser, "Ваше обращение отправлено")
    codename = browser.find_element(By.ID, "codename").text.strip()
    assert len(codename.split()) == RUSSIAN.words_per_codename
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    assert browser.current_url == live_server + "/request"
    # And nothing broke the page's Content-Security-Policy on the way
    assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []

    # And the lawyer can read the request and the file
    case = db_session.scalars(select(Case)).one()
    payload = decrypt_item(case.items[0], readers.lawyer.identity)
    assert payload.message == MESSAGE
    assert payload.fields["help_kind"] == "mobilisation"
    assert payload.attachments[0].filename == "повестка.pdf"
    assert decrypt_attachment(app, case.items[0].attachments[0], readers.lawyer.identity) == scan.read_bytes()


def test_without_files_the_form_posts_as_usual(
    app: Flask, live_server: str, browser_with_javascript: webdriver.Chrome, db_session: Session
) -> None:
    browser = browser_with_javascript
    readers = create_readers(db_session)
    _fill_in_the_russian_form(browser, live_server, attachment=None)

    submit_and_wait_for(browser, "form button[type=submit]", "Ваше обращение отправлено")

    assert len(browser.find_element(By.ID, "codename").text.split()) == RUSSIAN.words_per_codename
    case = db_session.scalars(select(Case)).one()
    assert decrypt_item(case.items[0], readers.lawyer.identity).message == MESSAGE


def test_a_follow_up_with_a_file_lands_on_the_replies_page(
    app: Flask,
    live_server: str,
    browser_with_javascript: webdriver.Chrome,
    db_session: Session,
    tmp_path: Path,
) -> None:
    browser = browser_with_javascript
    readers = create_readers(db_session)
    _fill_in_the_russian_form(browser, live_server, attachment=None)
    submit_and_wait_for(browser, "form button[type=submit]", "Ваше обращение отправлено")
    codename = browser.find_element(By.ID, "codename").text.strip()
    browser.get(live_server + "/codename?lang=ru")
    browser.find_element(By.ID, "codename").send_keys(codename)
    submit_and_wait_for(browser, "form button[type=submit]", "Написать ещё раз")
    second = tmp_path / "стр 2.bin"
    second.write_bytes(bytes(3 * MIB))

    # When the submitter writes again with a file, on a slow link
    browser.find_element(By.ID, "message").send_keys("Вторая страница.")
    browser.find_element(By.ID, "attachments").send_keys(str(second))
    _throttle_uploads(browser)
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

    # Then the progress shows, and the server's redirect ends on the replies page with its notice
    wait = _waiting(browser)
    wait.until(lambda driver: driver.find_element(By.CSS_SELECTOR, "main form progress"))
    wait.until(
        lambda driver: (
            "Ваше сообщение зашифровано в этом браузере и отправлено юристам."
            in driver.find_element(By.TAG_NAME, "main").text
        )
    )
    assert browser.current_url == live_server + "/replies"
    db_session.expire_all()
    follow_up = db_session.scalars(select(Case)).one().items[-1]
    assert decrypt_item(follow_up, readers.lawyer.identity).message == "Вторая страница."
    assert decrypt_attachment(app, follow_up.attachments[0], readers.lawyer.identity) == second.read_bytes()


class TestAFileOverTheLimit:
    @pytest.fixture
    def config(self, tmp_path: Path, database_url: str) -> Config:
        return make_config(tmp_path, database_url, INTAKE_MAX_FILE_BYTES=str(MIB))

    def test_says_so_before_sending_anything(
        self,
        app: Flask,
        live_server: str,
        browser_with_javascript: webdriver.Chrome,
        db_session: Session,
        tmp_path: Path,
    ) -> None:
        browser = browser_with_javascript
        create_readers(db_session)
        _fill_in_the_russian_form_with_a_video(browser, live_server, tmp_path, 4 * MIB)

        browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

        # The limit is known in the page, so nobody uploads for hours to hear "too large".
        alert = _waiting(browser).until(
            lambda driver: driver.find_element(By.CSS_SELECTOR, "main form [role=alert]")
        )
        assert alert.text == (
            "Эти файлы больше, чем принимает этот сервис, поэтому ничего не отправлено. "
            "До 1 МБ на файл, всего не больше 4 ГБ."
        )
        assert browser.current_url == live_server + "/request?lang=ru"
        assert browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").is_enabled()
        assert browser.find_element(By.ID, "message").get_attribute("value")
        assert stored_state(app) == NOTHING_STORED


class _SlowChunks:
    """Answers each chunk of a JavaScript upload late, as a slow circuit would."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "PATCH":
            time.sleep(0.5)
        return self.wsgi_app(environ, start_response)


class _DropsUploads:
    """Cuts the connection after the first MiB of any POST, as a broken Tor circuit would."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            # At most what was sent: with JavaScript on, the first POST creates an upload and has no body.
            environ["wsgi.input"].read(min(MIB, int(environ.get("CONTENT_LENGTH") or 0)))
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
            raise ConnectionResetError("dropped by the test")
        return self.wsgi_app(environ, start_response)


def test_an_interrupted_upload_keeps_the_form_and_asks_to_send_again(
    app: Flask,
    live_server: str,
    browser_with_javascript: webdriver.Chrome,
    db_session: Session,
    tmp_path: Path,
) -> None:
    browser = browser_with_javascript
    create_readers(db_session)
    _fill_in_the_russian_form_with_a_video(browser, live_server, tmp_path, 8 * MIB)
    app.wsgi_app = _DropsUploads(app.wsgi_app)  # type: ignore[method-assign]

    # When the connection drops halfway through the upload
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait = _waiting(browser)

    # Then the page says so in Russian, keeps what was typed, and lets the submitter try again
    alert = wait.until(lambda driver: driver.find_element(By.CSS_SELECTOR, "form [role=alert]"))
    assert alert.text == (
        "Отправка прервалась до того, как сервис её подтвердил, поэтому, скорее всего, ничего не сохранено. "
        "Пожалуйста, отправьте ещё раз."
    )
    assert browser.find_element(By.ID, "message").get_attribute("value") == MESSAGE
    assert browser.find_element(By.ID, "country").get_attribute("value") == "Казахстан"
    assert browser.find_element(By.ID, "attachments").get_attribute("value").endswith("видео.mp4")
    assert browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").is_enabled()
    assert stored_state(app) == NOTHING_STORED


def test_a_form_returned_with_errors_shows_progress_again_on_the_next_try(
    app: Flask,
    live_server: str,
    browser_with_javascript: webdriver.Chrome,
    db_session: Session,
    tmp_path: Path,
) -> None:
    browser = browser_with_javascript
    create_readers(db_session)
    scan = tmp_path / "скан.jpg"
    scan.write_bytes(bytes(3 * MIB))
    browser.get(live_server + "/request?lang=ru")
    # A browser that does not check `required` itself (the server always does)
    browser.execute_script(
        "document.querySelectorAll('[required]').forEach(e => e.removeAttribute('required'))"
    )
    browser.find_element(By.ID, "message").send_keys(MESSAGE)
    browser.find_element(By.ID, "attachments").send_keys(str(scan))

    # When the server returns the form with a note to fix it
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait = _waiting(browser)
    wait.until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "main .errors[role=alert]"))
    assert "Эти файлы уже получены" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.CSS_SELECTOR, "form progress")

    # Then, once fixed and with one more file chosen, the upload shows its progress again
    second_scan = tmp_path / "скан 2.jpg"
    second_scan.write_bytes(bytes(3 * MIB))
    _fill_in_the_russian_form_again(browser, second_scan)
    _throttle_uploads(browser)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait.until(lambda driver: driver.find_element(By.CSS_SELECTOR, "form progress"))
    wait_for_main_text(browser, "Ваше обращение отправлено")
    # The first file was kept from the first try, not uploaded twice
    assert len(db_session.scalars(select(Case)).one().items[0].attachments) == 2
