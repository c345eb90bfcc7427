"""The JavaScript-off Russian journey over a Tor-like link: real gunicorn behind a proxy with a
half-second round trip, 64 KB/s, and the first upload cut in the middle."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Case
from tests.browser.navigation import submit_and_wait_for
from tests.gunicorn_server import running_gunicorn
from tests.shaping_proxy import ShapingProxy
from tests.submit.helpers import (
    NOTHING_STORED,
    create_readers,
    decrypt_attachment,
    decrypt_item,
    stored_state,
)

pytestmark = pytest.mark.browser

MESSAGE = "Мой сын ушёл из части и прячется. Нам нужна помощь юриста."
RECEIPT = "Ваше обращение отправлено"
VIDEO_BYTES = 256 * 1024
CUT_AFTER_BYTES = 128 * 1024


@pytest.fixture
def shaped_server(app: Flask, tmp_path: Path, database_url: str) -> Iterator[tuple[str, ShapingProxy]]:
    with running_gunicorn(tmp_path, database_url) as address:
        proxy = ShapingProxy(address, cut_after_request_bytes=CUT_AFTER_BYTES)
        port = proxy.start()
        yield f"http://localhost:{port}", proxy
        proxy.stop()


def fill_in_the_form(browser: webdriver.Chrome, base: str, video: Path) -> str:
    """Open the form afresh, fill it in; returns the codename it shows before sending."""
    browser.get(base + "/request?lang=ru")
    held = browser.find_element(By.ID, "codename").text.strip()
    browser.find_element(By.CSS_SELECTOR, "input[name=help_kind][value=mobilisation]").click()
    browser.find_element(By.ID, "country").send_keys("Казахстан")
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=days]").click()
    browser.find_element(By.ID, "message").send_keys(MESSAGE)
    browser.find_element(By.ID, "attachments").send_keys(str(video))
    return held


def wait_until(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_a_cut_upload_over_a_tor_like_link_then_a_retry_gives_one_case_and_the_codename(
    app: Flask,
    shaped_server: tuple[str, ShapingProxy],
    browser: webdriver.Chrome,
    db_session: Session,
    tmp_path: Path,
) -> None:
    base, proxy = shaped_server
    readers = create_readers(db_session)
    video = tmp_path / "видео.mp4"
    video.write_bytes(os.urandom(VIDEO_BYTES))

    # Given the form over the slow link, showing a codename before anything is sent
    first_codename = fill_in_the_form(browser, base, video)
    assert len(first_codename.split()) == 8  # Russian codenames have eight words

    # When the circuit dies in the middle of the upload
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_until(lambda: proxy.cuts == 1)

    # Then the browser either shows a network error, or (as Chromium does when a
    # reused connection breaks before any answer) sends the form again by itself
    wait_until(lambda: "ERR_" in browser.page_source or RECEIPT in browser.page_source)
    if "ERR_" in browser.page_source:
        # The server kept nothing of the cut upload
        wait_until(lambda: stored_state(app) == NOTHING_STORED, seconds=30)
        # When the submitter opens the form again and sends it
        codename = fill_in_the_form(browser, base, video)
        submit_and_wait_for(browser, "form button[type=submit]", RECEIPT)
    else:
        codename = first_codename

    # Then the receipt shows the codename the form showed, and they type it back
    assert browser.find_element(By.ID, "codename").text.strip() == codename
    browser.find_element(By.ID, "typed_codename").send_keys(codename)
    submit_and_wait_for(browser, "form.codename-check button[type=submit]", "Кодовая фраза у вас")

    # And there is exactly one case, which the lawyer reads whole
    case = db_session.scalars(select(Case)).one()
    payload = decrypt_item(case.items[0], readers.lawyer.identity)
    assert payload.message == MESSAGE
    assert payload.attachments[0].filename == "видео.mp4"
    assert decrypt_attachment(app, case.items[0].attachments[0], readers.lawyer.identity) == video.read_bytes()
    assert len(stored_state(app).blob_files) == 1
