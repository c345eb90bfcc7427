"""A multi-gigabyte upload streams through with flat memory and arrives intact."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

MIB = 1024 * 1024
GIB = 1024 * MIB
# Two files, 2.25 GiB together: over 2 GiB so no 32-bit size or offset survives by luck.
FILE_SIZES = (GIB + GIB // 4, GIB)
# Parser buffers, one age chunk and Python's allocator slack; a buffered file would be gigabytes.
ALLOWED_GROWTH_BYTES = 64 * MIB
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gigabytes_stream_through_with_flat_memory(tmp_path: Path) -> None:
    # Given the app in a fresh process (its peak RSS is this upload's alone)
    # When 2.25 GiB generated on the fly are posted as one help request
    work_dir = tmp_path / "work"
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "tests.submit.big_upload", str(work_dir), *map(str, FILE_SIZES)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        # pytest keeps recent temp dirs; gigabytes of ciphertext should not linger there.
        shutil.rmtree(work_dir, ignore_errors=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])

    # Then memory barely moved, and both files decrypt to exactly what was sent
    assert report["uploaded_bytes"] == sum(FILE_SIZES)
    assert report["peak_rss"] - report["baseline_rss"] < ALLOWED_GROWTH_BYTES, report
    assert report["intact"] == [True, True]
