"""A lawyer in a real browser (JavaScript off) reads a hostile submission safely."""

from __future__ import annotations

import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy.orm import Session

from config import Config
from tests.browser.navigation import click_and_wait_for, submit_and_wait_for
from tests.factories import create_lawyer, set_recovery_key
from tests.lawyer.helpers import submit_directly, totp_code

HOSTILE_MESSAGE = '<script>document.title="pwned"</script><a href="javascript:alert(1)">click me</a>'
RTL_FILENAME = "../../notes\u202etxt.exe"
HOSTILE_FILENAME = '<img src=x onerror="alert(1)">.txt'
FILE_CONTENT = b"<html><script>alert('from a file')</script></html>"


def wait_for_download(directory: Path, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        finished = [path for path in directory.iterdir() if not path.name.endswith(".crdownload")]
        if finished:
            return finished[0]
        time.sleep(0.1)
    raise AssertionError(f"no download finished in {timeout} s: {list(directory.iterdir())}")


def test_login_unlock_case_and_download_with_hostile_content(
    live_server: str, browser: webdriver.Chrome, download_dir: Path, db_session: Session, config: Config
) -> None:
    # Given a vetted lawyer and a submission full of markup and a disguised filename
    set_recovery_key(db_session)
    lawyer = create_lawyer(db_session)
    submitted = submit_directly(
        db_session,
        config,
        HOSTILE_MESSAGE,
        files=[(RTL_FILENAME, "text/html", FILE_CONTENT), (HOSTILE_FILENAME, "text/plain", b"x")],
        fields={"name": "<b>bold?</b>"},
    )

    # When the lawyer logs in (which also unlocks the key for this session)
    browser.get(live_server + "/lawyer/login")
    browser.find_element(By.ID, "email").send_keys(lawyer.user.email)
    browser.find_element(By.ID, "passphrase").send_keys(lawyer.passphrase)
    browser.find_element(By.ID, "totp_code").send_keys(totp_code(lawyer.totp_secret, None))
    submit_and_wait_for(browser, "#submit", f"#{submitted.number}")

    # Then the inbox lists the case, unread
    link = browser.find_element(By.LINK_TEXT, f"#{submitted.number}")
    assert link.find_element(By.XPATH, "./ancestor::tr").get_attribute("class") == "unread"
    click_and_wait_for(browser, link, HOSTILE_MESSAGE)

    # And the case page shows the hostile text as text: nothing ran, no link was made
    messages = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".message")]
    assert HOSTILE_MESSAGE in messages and "<b>bold?</b>" in messages
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main img[src=x], a[href^=javascript]")
    attachment_names = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".attachments a")]
    assert attachment_names == ["notestxt.exe", HOSTILE_FILENAME]

    # And the file downloads (never renders), under its cleaned name, intact
    browser.find_element(By.LINK_TEXT, "notestxt.exe").click()
    downloaded = wait_for_download(download_dir)
    assert downloaded.name == "notestxt.exe"
    assert "\u202e" not in downloaded.name
    assert downloaded.read_bytes() == FILE_CONTENT
    assert browser.current_url.endswith(f"/lawyer/cases/{submitted.number}")


def test_hostile_content_runs_nothing_with_javascript_on(
    live_server: str, browser_with_javascript: webdriver.Chrome, db_session: Session, config: Config
) -> None:
    # Given a submission whose script would retitle the page if it ever ran
    set_recovery_key(db_session)
    lawyer = create_lawyer(db_session)
    submitted = submit_directly(db_session, config, HOSTILE_MESSAGE)
    browser = browser_with_javascript
    browser.get(live_server + "/lawyer/login")
    browser.find_element(By.ID, "email").send_keys(lawyer.user.email)
    browser.find_element(By.ID, "passphrase").send_keys(lawyer.passphrase)
    browser.find_element(By.ID, "totp_code").send_keys(totp_code(lawyer.totp_secret, None))
    submit_and_wait_for(browser, "#submit", f"#{submitted.number}")
    # When the lawyer opens it in a browser that runs scripts
    click_and_wait_for(browser, browser.find_element(By.LINK_TEXT, f"#{submitted.number}"), HOSTILE_MESSAGE)
    # Then it shows as text and the page keeps its own title
    assert HOSTILE_MESSAGE in [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".message")]
    assert browser.execute_script("return document.title") != "pwned"
