"""Crypto core: streaming throughput and memory, our age beside the `age` CLI, Argon2id costs."""

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

# The same plaintext file through our encrypt_stream / decrypt_stream and
# through `age -r` / `age -d`, file to file (decryption to /dev/null), median
# of three each, wall-clock and CPU time (ours in-process, age's as a child).
AGE_CLI = """
import json, os, resource, shutil, statistics, subprocess, tempfile, time
from crypto import generate_identity, encrypt_stream, decrypt_stream

class Null:
    def write(self, data):
        return len(data)

def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def child_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime

def timed(work, cpu):
    wall, before = time.perf_counter(), cpu()
    work()
    return time.perf_counter() - wall, cpu() - before

def ours_encrypt():
    with open(plain, "rb") as source, open(ours, "wb") as sink:
        encrypt_stream(source, sink, [identity.recipient])

def ours_decrypt():
    with open(ours, "rb") as source:
        decrypt_stream(source, Null(), [identity.secret])

def age_encrypt():
    subprocess.run(["age", "-r", identity.recipient, "-o", theirs, plain], check=True)

def age_decrypt():
    subprocess.run(["age", "-d", "-i", key, "-o", os.devnull, theirs], check=True)

identity = generate_identity()
work = tempfile.mkdtemp()
plain, ours, theirs, key = (os.path.join(work, name) for name in ("plain", "ours.age", "theirs.age", "key"))
with open(key, "w") as handle:
    handle.write(identity.secret + "\\n")
block = os.urandom(1 << 20)
with open(plain, "wb") as handle:
    for _ in range({mib}):
        handle.write(block)
runs = {{"encrypt": [], "age_r": [], "decrypt": [], "age_d": []}}
for _ in range(3):
    runs["encrypt"].append(timed(ours_encrypt, own_cpu))
    runs["age_r"].append(timed(age_encrypt, child_cpu))
    runs["decrypt"].append(timed(ours_decrypt, own_cpu))
    runs["age_d"].append(timed(age_decrypt, child_cpu))
shutil.rmtree(work)
wall = {{name: statistics.median(run[0] for run in each) for name, each in runs.items()}}
cpu = {{name: statistics.median(run[1] for run in each) for name, each in runs.items()}}
gib = {mib} / 1024
print(json.dumps({{
    "encrypt_mib_s": {mib} / wall["encrypt"], "age_r_mib_s": {mib} / wall["age_r"],
    "encrypt_ratio": wall["age_r"] / wall["encrypt"],
    "encrypt_cpu_s_per_gib": cpu["encrypt"] / gib, "age_r_cpu_s_per_gib": cpu["age_r"] / gib,
    "decrypt_mib_s": {mib} / wall["decrypt"], "age_d_mib_s": {mib} / wall["age_d"],
    "decrypt_ratio": wall["age_d"] / wall["decrypt"],
    "decrypt_cpu_s_per_gib": cpu["decrypt"] / gib, "age_d_cpu_s_per_gib": cpu["age_d"] / gib,
    "load_average": os.getloadavg()[0],
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
    report(f"age {mib} MiB, ours beside the age CLI (median of 3)", run_snippet(AGE_CLI.format(mib=mib)))
    report("argon2id: lawyer keys and codename v1 (t=3, m=64 MiB, p=4), codename v2 (t=1, m=2 MiB, p=1)", run_snippet(ARGON2))


if __name__ == "__main__":
    main(quick="--quick" in sys.argv[1:])
