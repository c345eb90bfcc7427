"""Production refuses per-worker rate-limit counters when gunicorn runs several workers.

With `memory://` each worker counts on its own, so N workers allow N times
every limit, silently. The server must fail at start, saying why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from intake import migrate
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]


def _start_gunicorn(tmp_path: Path, workers: int) -> tuple[subprocess.CompletedProcess[str] | None, bool]:
    """Start production gunicorn: (its result if it exited, whether it answered /healthz)."""
    database_url = f"sqlite:///{tmp_path / 'data' / 'intake.sqlite3'}"
    migrate.upgrade(database_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("INTAKE_", "RATELIMIT_"))},
        "INTAKE_ENV": "production",
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_BLOB_DIR": str(tmp_path / "blobs"),
        "INTAKE_BIND": f"127.0.0.1:{port}",
        "INTAKE_WORKERS": str(workers),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    answered = False
    # Generous: a loaded CI machine can take a while to import the app twice.
    deadline = time.monotonic() + 180
    while process.poll() is None and time.monotonic() < deadline and not answered:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                answered = response.status == 200
        except OSError:
            time.sleep(0.2)
    if process.poll() is None:
        process.terminate()
        process.communicate(timeout=60)
        return None, answered
    stdout, stderr = process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), answered


def test_several_workers_without_shared_counters_fail_at_start(tmp_path: Path) -> None:
    result, answered = _start_gunicorn(tmp_path, workers=2)
    assert result is not None and not answered, "gunicorn served with per-worker rate-limit counters"
    assert result.returncode != 0
    assert "RATELIMIT_STORAGE_URI" in result.stderr
    assert "memory://" in result.stderr


def test_one_worker_may_count_in_memory(tmp_path: Path) -> None:
    result, answered = _start_gunicorn(tmp_path, workers=1)
    assert answered, result and result.stderr
