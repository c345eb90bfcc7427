"""Clicks that start a navigation, and waiting for it to finish.

A WebDriver click does not always wait for the navigation it starts (a form
POST answered by a redirect), so the next `find_element` may search the old
page. Wait for the old document to go and the new one to show what it should.
"""

from __future__ import annotations

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.expected_conditions import staleness_of
from selenium.webdriver.support.wait import WebDriverWait

NAVIGATION_TIMEOUT = 30


def click_and_wait_for(browser: webdriver.Chrome, target: WebElement, expected_text: str) -> str:
    """Click `target`; return the next page's main text once it shows `expected_text`."""
    old_page = browser.find_element(By.TAG_NAME, "html")
    target.click()
    wait = WebDriverWait(
        browser,
        NAVIGATION_TIMEOUT,
        ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
    )
    wait.until(staleness_of(old_page))
    wait.until(lambda driver: expected_text in driver.find_element(By.TAG_NAME, "main").text)
    return str(browser.find_element(By.TAG_NAME, "main").text)


def submit_and_wait_for(browser: webdriver.Chrome, button: str, expected_text: str) -> str:
    """Click the button matching the CSS selector `button`; see click_and_wait_for."""
    return click_and_wait_for(browser, browser.find_element(By.CSS_SELECTOR, button), expected_text)
