"""A real server in a thread and a real headless Chromium, JavaScript off.

Chromium treats http://localhost as a secure context, so the production
`__Host-` Secure session cookie works here unchanged, as it does for .onion
addresses in Tor Browser.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

BROWSER_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A conftest's `pytestmark` marks nothing: mark every test collected here instead.
    for item in items:
        if item.path.is_relative_to(BROWSER_TESTS):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    server = make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def download_dir(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


def chromium_options(download_dir: Path, javascript: bool) -> Options:
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            # Tor Browser's Safest mode: no JavaScript at all.
            "profile.managed_default_content_settings.javascript": 1 if javascript else 2,
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    return options


def launch_chromium(download_dir: Path, profile_dir: Path, javascript: bool) -> webdriver.Chrome:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if shutil.which(path) is None]
    assert not missing, f"install Debian chromium + chromium-driver (make system-packages): {missing}"
    os.environ.setdefault("SE_AVOID_STATS", "true")
    options = chromium_options(download_dir, javascript=javascript)
    options.add_argument(f"--user-data-dir={profile_dir}")
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    return driver


@pytest.fixture
def browser(download_dir: Path, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Tor Browser's Safest mode: no JavaScript at all."""
    driver = launch_chromium(download_dir, tmp_path / "chromium-profile", javascript=False)
    yield driver
    driver.quit()


@pytest.fixture
def browser_with_javascript(download_dir: Path, tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Tor Browser's Standard mode: JavaScript on, for what scripts only add (upload progress)."""
    driver = launch_chromium(download_dir, tmp_path / "chromium-profile-js", javascript=True)
    yield driver
    driver.quit()
