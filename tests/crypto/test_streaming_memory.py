"""Streaming keeps memory bounded: 256 MiB go through with far less than 64 MiB of growth."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crypto import padded_length
from tests.crypto.stream_memory_probe import TOTAL_BYTES

REPO_ROOT = Path(__file__).resolve().parents[2]
MEMORY_LIMIT_KIB = 64 * 1024


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["plain", "padded"])
def test_256_mib_round_trip_in_bounded_memory(mode: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.crypto.stream_memory_probe", mode, str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout)

    assert report["decrypted_length"] == TOTAL_BYTES
    assert report["decrypted_sha256"] == report["source_sha256"]
    if mode == "padded":
        assert report["ciphertext_length"] > padded_length(TOTAL_BYTES)
    assert report["peak_growth_kib"] < MEMORY_LIMIT_KIB, report
