"""With JavaScript on, the request is encrypted in the browser: same content, only ciphertext on the wire."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import Identity
from intake.models import Case
from intake.services.items import ItemPayload
from tests.browser.conftest import launch_chromium
from tests.submit.helpers import create_readers, decrypt_attachment, decrypt_item

if TYPE_CHECKING:
    pass

pytestmark = pytest.mark.browser

MIB = 1024 * 1024
TEXT_MARKER = "ЧЕРНОВИК-МАРКЕР-7731"
COUNTRY = "Казахстан-маркер"
MESSAGE = f"Меня мобилизовали. {TEXT_MARKER}\nВторая строка."
FILE_NAMES = ("повестка-маркер.pdf", "видео-маркер.mp4")
RECEIPT = "Ваше обращение отправлено"


def fill_in_and_send(browser: webdriver.Chrome, live_server: str, files: list[Path]) -> None:
    browser.get(live_server + "/request?lang=ru")
    browser.find_element(By.CSS_SELECTOR, "input[name=help_kind][value=mobilisation]").click()
    browser.find_element(By.ID, "country").send_keys(COUNTRY)
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=danger_now]").click()
    browser.find_element(By.ID, "message").send_keys(MESSAGE)
    browser.find_element(By.ID, "attachments").send_keys("\n".join(str(path) for path in files))
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 120).until(lambda driver: RECEIPT in driver.find_element(By.TAG_NAME, "main").text)


def make_files(directory: Path) -> list[Path]:
    directory.mkdir()
    small = directory / FILE_NAMES[0]
    small.write_bytes(b"%PDF " + "Повестка маркер-файла".encode() * 100)
    video = directory / FILE_NAMES[1]
    video.write_bytes(os.urandom(3 * MIB + 12345))
    return [small, video]


def lawyer_view(app: Flask, case: Case, identity: Identity) -> tuple[ItemPayload, list[bytes]]:
    payload = decrypt_item(case.items[0], identity)
    contents = [decrypt_attachment(app, attachment, identity) for attachment in case.items[0].attachments]
    return payload, contents


def test_javascript_on_and_off_give_the_lawyer_identical_content(
    app: Flask, live_server: str, db_session: Session, tmp_path: Path, download_dir: Path
) -> None:
    readers = create_readers(db_session)
    files = make_files(tmp_path / "files")
    outcomes = []
    for javascript in (False, True):
        browser = launch_chromium(download_dir, tmp_path / f"profile-{javascript}", javascript=javascript)
        try:
            fill_in_and_send(browser, live_server, files)
            mode = browser.find_element(By.CSS_SELECTOR, ".encryption-mode").text
            # Nothing broke the Content-Security-Policy or Subresource Integrity
            assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
        finally:
            browser.quit()
        db_session.expire_all()
        case = db_session.scalars(select(Case).order_by(Case.number.desc())).first()
        assert case is not None
        assert case.encrypted_in_browser is javascript
        payload, contents = lawyer_view(app, case, readers.lawyer.identity)
        outcomes.append((payload, contents, mode))

    (plain, plain_files, plain_mode), (browser_made, browser_files, browser_mode) = outcomes
    assert plain.fields == browser_made.fields
    assert plain.message == browser_made.message == MESSAGE
    strip_ids = [(meta.filename, meta.content_type, meta.size) for meta in plain.attachments]
    assert strip_ids == [(meta.filename, meta.content_type, meta.size) for meta in browser_made.attachments]
    assert plain_files == browser_files == [path.read_bytes() for path in files]
    assert plain_mode != browser_mode
