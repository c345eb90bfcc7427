"""Run a measuring script in a fresh interpreter, so its peak RSS is its own."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_probe(module: str, work_dir: Path, *args: str, timeout: float = 600) -> dict[str, Any]:
    """Run `python -m module work_dir args…` and return the JSON object it prints last."""
    try:
        completed = subprocess.run(
            [sys.executable, "-m", module, str(work_dir), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    finally:
        # pytest keeps recent temp dirs; gigabytes of ciphertext should not linger there.
        shutil.rmtree(work_dir, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return report
