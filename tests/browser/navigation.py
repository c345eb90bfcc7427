"""Clicks that start a navigation, and waiting for it to finish.

A WebDriver click does not always wait for the navigation it starts (a form
POST answered by a redirect), so the next `find_element` may search the old
page. Wait for the old document to go and the new one to show what it should.
"""

from __future__ import annotations

from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait

NAVIGATION_TIMEOUT = 30


def _is_chromium_node_gone(error: WebDriverException) -> bool:
    return "does not belong to the document" in str(error.msg)


def is_gone(element: WebElement) -> bool:
    """Whether the document holding `element` was replaced (Selenium's staleness_of,
    also taking Chromium's "node does not belong to the document" for gone)."""
    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if _is_chromium_node_gone(error):
            return True
        raise
    return False


def main_text(driver: webdriver.Chrome) -> str:
    """The page's <main> text, or "" while a navigation is replacing the document.

    Between finding <main> and reading its text the old document can go:
    Selenium then says the element is stale, or Chromium that the node "does
    not belong to the document" (a plain WebDriverException). Both only mean
    "look again".
    """
    try:
        return str(driver.find_element(By.TAG_NAME, "main").text)
    except (NoSuchElementException, StaleElementReferenceException):
        return ""
    except WebDriverException as error:
        if _is_chromium_node_gone(error):
            return ""
        raise


def wait_for_main_text(browser: webdriver.Chrome, expected_text: str, timeout: float = NAVIGATION_TIMEOUT) -> str:
    """Wait until <main> shows `expected_text`, across any navigation in between; return its text."""
    WebDriverWait(browser, timeout).until(lambda driver: expected_text in main_text(driver))
    return main_text(browser)


def click_and_wait_for(browser: webdriver.Chrome, target: WebElement, expected_text: str) -> str:
    """Click `target`; return the next page's main text once it shows `expected_text`."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    target.click()
    wait = WebDriverWait(
        browser,
        NAVIGATION_TIMEOUT,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    )
    wait.until(lambda _driver: is_gone(old_page))
    return wait_for_main_text(browser, expected_text)


def submit_and_wait_for(browser: webdriver.Chrome, button: str, expected_text: str) -> str:
    """Click the button matching the CSS selector `button`; see click_and_wait_for."""
    return click_and_wait_for(browser, browser.find_element(By.CSS_SELECTOR, button), expected_text)
