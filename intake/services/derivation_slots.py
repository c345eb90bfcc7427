"""Memory-hard codename derivations take turns: at most a fixed number at once in each process.

A version 1 derivation holds 64 MiB for its duration, and gunicorn runs
several threads per worker, each of which could start one: a burst of
submissions or codename logins then held gigabytes (2.4-2.7 GiB measured
with 8 threads per worker). One such derivation is about 0.3 s of a core
(argon2-cffi runs its four lanes in one thread: CPU time equals wall time in
bench/crypto_bench.py), and the workers already share two cores, so more at
once would only share the CPU, not finish sooner: the rest wait here, and
memory stays at one buffer per slot.

Version 2 (2 MiB, one lane, a couple of milliseconds) runs in whichever
thread asks: the threads bound it, at 2 MiB each, and making it queue behind
a 64 MiB login would hold up every new submission.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from crypto import CodenameKeys, CodenameVersion, KdfParams
from crypto import derive_codename_keys as _derive_codename_keys

MAX_CONCURRENT_DERIVATIONS = 1
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_DERIVATIONS)


@contextmanager
def derivation_slot() -> Iterator[None]:
    """Hold one of this process's derivation slots, waiting for one if need be."""
    with _slots:
        yield


def derive_codename_keys(
    codename: str, instance_salt: bytes, version: CodenameVersion, params: KdfParams
) -> CodenameKeys:
    """crypto.derive_codename_keys; a version 1 derivation once a slot is free."""
    if version is not CodenameVersion.V1:
        return _derive_codename_keys(codename, instance_salt, version, params)
    with derivation_slot():
        return _derive_codename_keys(codename, instance_salt, version, params)
