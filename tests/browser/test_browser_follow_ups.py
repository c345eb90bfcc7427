"""With JavaScript on, a returning submitter's follow-up is encrypted in the browser too."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask, url_for
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from intake.models import Case, Item, ItemKind
from tests.browser.conftest import launch_chromium
from tests.browser.navigation import submit_and_wait_for, wait_for_main_text
from tests.browser.test_browser_encryption import (
    FILE_NAMES,
    CapturesBodies,
    FailsFirstPost,
    assert_only_ciphertext_went_up,
    make_files,
)
from tests.lawyer.helpers import submit_directly
from tests.submit.helpers import ReadersFixture, create_readers, decrypt_attachment, decrypt_item

pytestmark = pytest.mark.browser

FOLLOW_UP = "Новые документы по делу. МАРКЕР-ОТВЕТА-5521\nВторая строка ответа."
PLAIN_NOTICE = "Ваше сообщение зашифровано и отправлено юристам."
BROWSER_NOTICE = "Ваше сообщение зашифровано в этом браузере и отправлено юристам."


def log_in(browser: webdriver.Chrome, live_server: str, codename: str) -> None:
    browser.get(live_server + "/codename?lang=ru")
    browser.find_element(By.ID, "codename").send_keys(codename)
    submit_and_wait_for(browser, "main form button[type=submit]", "Написать ещё раз")


def write_again(browser: webdriver.Chrome, files: list[Path]) -> None:
    browser.find_element(By.ID, "message").send_keys(FOLLOW_UP)
    browser.find_element(By.ID, "attachments").send_keys("\n".join(str(path) for path in files))
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()


def latest_item(db_session: Session) -> Item:
    db_session.expire_all()
    return db_session.scalars(select(Case)).one().items[-1]


@pytest.fixture
def codename(db_session: Session, config: Config) -> tuple[ReadersFixture, str]:
    readers = create_readers(db_session)
    return readers, submit_directly(db_session, config, "Первое обращение").codename


def test_a_follow_up_reaches_the_lawyer_the_same_with_javascript_on_and_off_and_only_as_ciphertext(
    app: Flask,
    live_server: str,
    db_session: Session,
    tmp_path: Path,
    download_dir: Path,
    codename: tuple[ReadersFixture, str],
) -> None:
    readers, typed_codename = codename
    files = make_files(tmp_path / "files")
    capture = CapturesBodies(app.wsgi_app)
    app.wsgi_app = capture  # type: ignore[method-assign]
    seen = []
    for javascript, notice in ((False, PLAIN_NOTICE), (True, BROWSER_NOTICE)):
        browser = launch_chromium(download_dir, tmp_path / f"profile-{javascript}", javascript=javascript)
        try:
            log_in(browser, live_server, typed_codename)
            capture.bodies.clear()
            # When the submitter writes again with two files
            write_again(browser, files)
            # Then the replies page comes back, at its own address, saying how it was encrypted
            wait_for_main_text(browser, notice, timeout=120)
            assert browser.current_url == live_server + "/replies"
            assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
        finally:
            browser.quit()
        item = latest_item(db_session)
        assert item.kind is ItemKind.FOLLOW_UP
        payload = decrypt_item(item, readers.lawyer.identity)
        contents = [decrypt_attachment(app, attachment, readers.lawyer.identity) for attachment in item.attachments]
        seen.append((payload, contents))

    # And the lawyer reads the same message, file names, types, sizes and bytes from both
    (plain, plain_files), (browser_made, browser_files) = seen
    assert plain.fields == browser_made.fields == {}
    assert plain.message == browser_made.message == FOLLOW_UP
    described = [(meta.filename, meta.content_type, meta.size) for meta in plain.attachments]
    assert described == [(meta.filename, meta.content_type, meta.size) for meta in browser_made.attachments]
    assert plain_files == browser_files == [path.read_bytes() for path in files]
    assert len(db_session.scalars(select(Case)).one().items) == 3

    # And with JavaScript on, no request body held the text, a file name or file bytes
    markers = ["МАРКЕР-ОТВЕТА-5521", "Вторая строка ответа", *FILE_NAMES]
    assert_only_ciphertext_went_up(capture, markers, files, "/replies/encrypted")


def test_a_follow_up_whose_answer_was_lost_is_sent_again_and_stored_once(
    app: Flask,
    live_server: str,
    db_session: Session,
    tmp_path: Path,
    download_dir: Path,
    codename: tuple[ReadersFixture, str],
) -> None:
    readers, typed_codename = codename
    files = make_files(tmp_path / "files")
    with app.test_request_context():
        failing = FailsFirstPost(app.wsgi_app, url_for("submit.send_encrypted_follow_up"), 502, answer_lost=True)
    app.wsgi_app = failing  # type: ignore[method-assign]
    browser = launch_chromium(download_dir, tmp_path / "profile", javascript=True)
    try:
        log_in(browser, live_server, typed_codename)
        # When the follow-up is stored but its answer is lost on the way back
        write_again(browser, files)
        # Then the script sends it again, the server knows it, and the replies page comes
        wait_for_main_text(browser, BROWSER_NOTICE, timeout=120)
    finally:
        browser.quit()
    assert len(failing.posts) == 2
    case = db_session.scalars(select(Case)).one()
    assert len(case.items) == 2
    follow_up = case.items[-1]
    assert decrypt_item(follow_up, readers.lawyer.identity).message == FOLLOW_UP
    assert [decrypt_attachment(app, attachment, readers.lawyer.identity) for attachment in follow_up.attachments] == [
        path.read_bytes() for path in files
    ]
