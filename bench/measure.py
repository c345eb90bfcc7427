"""Shared helpers: run a snippet in a fresh interpreter and report time and peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

PEAK_RSS = """
def _peak_rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

def _rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
"""


def run_snippet(code: str) -> dict[str, float]:
    """Run code that ends by printing one JSON object; return it."""
    source = PEAK_RSS + textwrap.dedent(code)
    result = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True, check=True)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def report(name: str, values: dict[str, float]) -> None:
    rendered = ", ".join(f"{key}={value:.3g}" if isinstance(value, float) else f"{key}={value}" for key, value in values.items())
    print(f"{name}: {rendered}", flush=True)
