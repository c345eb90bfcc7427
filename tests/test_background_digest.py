"""An upload's SHA-256, hashed on a thread of its own, is the file's SHA-256, and the thread always ends."""

from __future__ import annotations

import hashlib
import os
import threading

import pytest

from intake.services.background_digest import BackgroundSha256


def _digest_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "upload-sha256"]


def test_the_digest_is_the_sha256_of_every_block_in_order() -> None:
    blocks = [os.urandom(size) for size in (0, 1, 65536, 1024 * 1024, 3, 1024 * 1024 + 7)]
    with BackgroundSha256() as sha256:
        for block in blocks:
            sha256.update(block)
        digest = sha256.digest()
    assert digest == hashlib.sha256(b"".join(blocks)).digest()
    assert _digest_threads() == []


def test_a_view_handed_over_is_hashed_as_it_was_then_even_if_its_buffer_changes() -> None:
    buffer = bytearray(b"a" * 4096)
    with BackgroundSha256() as sha256:
        sha256.update(memoryview(buffer))  # type: ignore[arg-type]
        buffer[:] = b"b" * 4096
        assert sha256.digest() == hashlib.sha256(b"a" * 4096).digest()


def test_an_upload_that_fails_midway_leaves_no_thread_behind() -> None:
    with pytest.raises(ConnectionResetError), BackgroundSha256() as sha256:
        sha256.update(os.urandom(1024 * 1024))
        raise ConnectionResetError("the body stopped arriving")
    assert _digest_threads() == []
