"""The browser harness itself: pages render with JS off and the secure cookie sticks."""

from __future__ import annotations

from selenium.webdriver.common.by import By


def test_landing_page_renders_without_javascript_and_switches_language(live_server: str, browser) -> None:
    browser.get(live_server + "/")
    assert browser.find_element(By.TAG_NAME, "h1").text

    browser.find_element(By.CSS_SELECTOR, "a[lang=ru]").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"

    # The language choice lives in the __Host- Secure session cookie; it
    # surviving a plain navigation proves the production cookie works here.
    browser.get(live_server + "/")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ru"
    cookie_names = {cookie["name"] for cookie in browser.get_cookies()}
    assert "__Host-intake_session" in cookie_names
