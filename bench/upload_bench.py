"""A large help request through the real app: throughput and peak memory.

Reuses the test suite's upload driver (tests/submit/big_upload.py) in a fresh
process, so the numbers belong to the upload alone.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.measure import report

GIB = 1024**3
QUICK_BYTES = 8 * 1024**2
ROOT = Path(__file__).resolve().parents[1]


def main(quick: bool = False) -> None:
    size = QUICK_BYTES if quick else GIB
    with tempfile.TemporaryDirectory() as scratch:
        completed = subprocess.run(
            [sys.executable, "-m", "tests.submit.big_upload", str(Path(scratch) / "work"), str(size)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    mib = result["uploaded_bytes"] / 1024**2
    report(
        f"upload {mib:.0f} MiB help request (multipart parse + pad + age + blob write, test client)",
        {
            "seconds": float(result["seconds"]),
            "mib_per_s": mib / float(result["seconds"]),
            "peak_growth_mib": (result["peak_rss"] - result["baseline_rss"]) / 1024**2,
            "intact": str(result["intact"] == [True]),
        },
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
