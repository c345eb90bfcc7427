"""Codenames in the submitter's language, in a real browser with JavaScript off.

A Russian or Ukrainian speaker gets words they can read, and gets in again
however they type them back: with a typo (the page names the word and the
closest one), with е for ё, in capitals, or with Latin look-alike letters.
"""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy.orm import Session

from crypto.codename import RUSSIAN, UKRAINIAN, Wordlist, closest_word
from tests.browser.navigation import submit_and_wait_for
from tests.submit.helpers import create_readers

pytestmark = pytest.mark.browser

LATIN_LOOK_ALIKES = str.maketrans("АВЕКМНОРСТХ", "ABEKMHOPCTX")


def ask_for_help(
    browser: webdriver.Chrome, live_server: str, language: str, help_kind: str, photo_warning: str, sent: str
) -> str:
    browser.get(f"{live_server}/request?lang={language}")
    assert photo_warning in browser.find_element(By.ID, "attachments-metadata").text
    browser.find_element(By.CSS_SELECTOR, f"input[name=help_kind][value={help_kind}]").click()
    browser.find_element(By.CSS_SELECTOR, "input[name=urgency][value=danger_now]").click()
    browser.find_element(By.ID, "message").send_keys("Помогите, пожалуйста.")
    submit_and_wait_for(browser, "form button[type=submit]", sent)
    return browser.find_element(By.ID, "codename").text.strip()


def type_codename(browser: webdriver.Chrome, live_server: str, language: str, typed: str, expected: str) -> str:
    browser.get(f"{live_server}/codename?lang={language}")
    field = browser.find_element(By.ID, "codename")
    assert field.get_attribute("type") == "password"
    field.clear()
    field.send_keys(typed)
    return submit_and_wait_for(browser, "form button[type=submit]", expected)


@pytest.mark.parametrize(
    ("language", "wordlist", "help_kind", "photo_warning", "sent", "misspelt_notice", "no_replies"),
    [
        pytest.param(
            "ru",
            RUSSIAN,
            "relative_left_unit",
            "скрытые данные",
            "Ваше обращение отправлено",
            "не входит в слова кодовых фраз",
            "Ответов пока нет",
            id="ru",
        ),
        pytest.param(
            "uk",
            UKRAINIAN,
            "relative_missing",
            "приховані дані",
            "Ваше звернення надіслано",
            "не належить до слів кодових фраз",
            "Відповідей поки немає",
            id="uk",
        ),
    ],
)
def test_codename_in_the_page_language_survives_typos_yo_and_latin_letters(
    live_server: str,
    browser: webdriver.Chrome,
    db_session: Session,
    language: str,
    wordlist: Wordlist,
    help_kind: str,
    photo_warning: str,
    sent: str,
    misspelt_notice: str,
    no_replies: str,
) -> None:
    create_readers(db_session)

    # Given a relative's help request sent from the page in this language,
    # whose file field warned about hidden data in photos
    codename = ask_for_help(browser, live_server, language, help_kind, photo_warning, sent)

    # Then the receipt shows the codename in the page's own words
    words = codename.split()
    assert len(words) == wordlist.words_per_codename
    assert set(words) <= set(wordlist.words)
    assert browser.find_element(By.ID, "codename").get_attribute("lang") == language
    browser.delete_all_cookies()

    # When one word comes back misspelt, the page names it and the word it probably is
    misspelt = [*words[:-1], words[-1][:-1] + "ъ"]
    page = type_codename(browser, live_server, language, " ".join(misspelt), misspelt_notice)
    assert f"«{misspelt[-1]}»" in page
    # The suggestion prefers the lists the other typed words come from, as the server reads them:
    # with the original word in that context too, a word in both lists made the oracle prefer the other list
    assert f"«{closest_word(misspelt[-1], misspelt[:-1])}»" in page

    # When it is typed in capitals, with ё for е and Latin letters that look Cyrillic
    typed = " ".join(words).replace("е", "ё").upper().translate(LATIN_LOOK_ALIKES)
    assert typed != " ".join(words).upper()

    # Then the submitter is in
    type_codename(browser, live_server, language, typed, no_replies)
