"""Stream 256 MiB through encryption and back, and report how much memory that took.

Run in its own process by test_streaming_memory.py, so that the peak resident
size belongs to this work alone:

    python -m tests.crypto.stream_memory_probe {plain,padded} WORKDIR

Prints one JSON object: peak memory growth over the warmed-up baseline, and
hashes of what went in and what came back out.
"""

import hashlib
import json
import random
import resource
import sys
from pathlib import Path

from crypto import (
    decrypt_stream,
    decrypt_stream_padded,
    encrypt_stream,
    encrypt_stream_padded,
    generate_identity,
)

TOTAL_BYTES = 256 * 1024 * 1024
FUNCTIONS = {
    "plain": (encrypt_stream, decrypt_stream),
    "padded": (encrypt_stream_padded, decrypt_stream_padded),
}


class GeneratedReader:
    """Pseudo-random bytes made on demand and hashed as they are handed out."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._random = random.Random(0)
        self.sha256 = hashlib.sha256()

    def read(self, size: int) -> bytes:
        chunk = self._random.randbytes(min(size, self._left))
        self._left -= len(chunk)
        self.sha256.update(chunk)
        return chunk


class HashingWriter:
    def __init__(self) -> None:
        self.sha256 = hashlib.sha256()
        self.length = 0

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        self.length += len(data)
        return len(data)


def peak_rss_kib() -> int:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def round_trip(mode: str, total: int, ciphertext_path: Path) -> dict[str, object]:
    encrypt, decrypt = FUNCTIONS[mode]
    identity = generate_identity()
    source = GeneratedReader(total)
    with ciphertext_path.open("wb") as sink:
        encrypt(source, sink, [identity.recipient])
    decrypted = HashingWriter()
    with ciphertext_path.open("rb") as ciphertext:
        decrypt(ciphertext, decrypted, [identity.secret])
    return {
        "source_sha256": source.sha256.hexdigest(),
        "decrypted_sha256": decrypted.sha256.hexdigest(),
        "decrypted_length": decrypted.length,
        "ciphertext_length": ciphertext_path.stat().st_size,
    }


def main() -> None:
    mode, workdir = sys.argv[1], Path(sys.argv[2])
    ciphertext_path = workdir / f"{mode}.age"
    try:
        # A small run first, so one-off allocations count in the baseline.
        round_trip(mode, 1024 * 1024, ciphertext_path)
        baseline = peak_rss_kib()
        report = round_trip(mode, TOTAL_BYTES, ciphertext_path)
        report["peak_growth_kib"] = peak_rss_kib() - baseline
        report["baseline_kib"] = baseline
    finally:
        ciphertext_path.unlink(missing_ok=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
