"""A multi-gigabyte upload streams through with flat memory and arrives intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.probes import run_probe

MIB = 1024 * 1024
GIB = 1024 * MIB
# Two files, 2.25 GiB together: over 2 GiB so no 32-bit size or offset survives by luck.
FILE_SIZES = (GIB + GIB // 4, GIB)
# Parser buffers, one age chunk and Python's allocator slack; a buffered file would be gigabytes.
ALLOWED_GROWTH_BYTES = 64 * MIB


@pytest.mark.slow
def test_gigabytes_stream_through_with_flat_memory(tmp_path: Path) -> None:
    # Given the app in a fresh process (its peak RSS is this upload's alone)
    # When 2.25 GiB generated on the fly are posted as one help request
    report = run_probe("tests.submit.big_upload", tmp_path / "work", *map(str, FILE_SIZES))

    # Then memory barely moved, and both files decrypt to exactly what was sent
    assert report["uploaded_bytes"] == sum(FILE_SIZES)
    assert report["peak_rss"] - report["baseline_rss"] < ALLOWED_GROWTH_BYTES, report
    assert report["intact"] == [True, True]
