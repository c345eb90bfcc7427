"""Markers select what they say: `-m "not browser"` leaves out every test that drives Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BROWSER_TESTS = Path(__file__).resolve().parent / "browser"
NO_TESTS_COLLECTED = 5


def test_every_test_under_tests_browser_is_marked_browser() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "not browser", str(BROWSER_TESTS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == NO_TESTS_COLLECTED, result.stdout
