"""Crypto core: streaming throughput and memory, Argon2id costs."""

from __future__ import annotations

import sys

from bench.measure import report, run_snippet

STREAM_MIB = 256
QUICK_STREAM_MIB = 8

STREAM = """
import hashlib, json, time
from crypto import generate_identity, encrypt_stream_padded, decrypt_stream_padded

class Counter:
    def __init__(self, total):
        self.left = total
        self.block = bytes(range(256)) * 256
    def read(self, n=-1):
        if self.left <= 0:
            return b""
        n = min(self.left, len(self.block) if n is None or n < 0 else min(n, len(self.block)))
        self.left -= n
        return self.block[:n]

class Sink:
    def __init__(self):
        self.size = 0
        self.chunks = []
    def write(self, data):
        self.size += len(data)
        return len(data)
    def flush(self):
        pass

class Spool:
    def __init__(self, path):
        self.handle = open(path, "wb")
    def write(self, data):
        return self.handle.write(data)
    def flush(self):
        self.handle.flush()

import tempfile, os
identity = generate_identity()
baseline = _rss_kib()
path = os.path.join(tempfile.mkdtemp(), "blob.age")
spool = Spool(path)
started = time.perf_counter()
encrypt_stream_padded(Counter({mib} * 1024 * 1024), spool, [identity.recipient])
spool.handle.close()
encrypted = time.perf_counter() - started
started = time.perf_counter()
sink = Sink()
with open(path, "rb") as handle:
    decrypt_stream_padded(handle, sink, [identity.secret])
decrypted = time.perf_counter() - started
os.unlink(path)
print(json.dumps({{
    "encrypt_s": encrypted, "decrypt_s": decrypted,
    "encrypt_mib_s": {mib} / encrypted, "decrypt_mib_s": {mib} / decrypted,
    "peak_above_baseline_mib": (_peak_rss_kib() - baseline) / 1024,
    "plaintext_out_mib": sink.size / 1048576,
}}))
"""

ARGON2 = """
import json, time
from crypto import CodenameVersion, generate_identity, wrap_secret, unwrap_secret, derive_codename_keys, generate_codename
identity = generate_identity()
started = time.perf_counter()
blob = wrap_secret(identity.secret, "a passphrase of several words", b"lawyer:bench")
wrap_s = time.perf_counter() - started
started = time.perf_counter()
unwrap_secret(blob, "a passphrase of several words", b"lawyer:bench")
unwrap_s = time.perf_counter() - started
codename = {}
for version in CodenameVersion:
    started, cpu = time.perf_counter(), time.process_time()
    derive_codename_keys(generate_codename(), b"s" * 32, version)
    codename[f"codename_v{version.value}_s"] = time.perf_counter() - started
    codename[f"codename_v{version.value}_cpu_s"] = time.process_time() - cpu
print(json.dumps({"wrap_s": wrap_s, "unwrap_s": unwrap_s, **codename}))
"""


def main(quick: bool = False) -> None:
    mib = QUICK_STREAM_MIB if quick else STREAM_MIB
    report(f"crypto stream {mib} MiB (padded age, disk round trip)", run_snippet(STREAM.format(mib=mib)))
    report("argon2id: lawyer keys and codename v1 (t=3, m=64 MiB, p=4), codename v2 (t=1, m=2 MiB, p=1)", run_snippet(ARGON2))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
