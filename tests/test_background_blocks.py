"""An upload's blocks hashed and written on threads of their own: the same digest and file, errors raised, no thread left."""

from __future__ import annotations

import errno
import io
import os
import threading

import pytest
from blake3 import blake3

from intake.services.background_blocks import BackgroundDigest, BackgroundWriter

BLOCKS = [os.urandom(size) for size in (0, 1, 65536, 1024 * 1024, 3, 1024 * 1024 + 7)]


def _upload_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("upload-")]


def test_the_digest_is_the_blake3_of_every_block_in_order() -> None:
    with BackgroundDigest() as digest:
        for block in BLOCKS:
            digest.put(block)
    assert digest.digest() == blake3(b"".join(BLOCKS)).digest()
    assert _upload_threads() == []


def test_the_file_holds_every_block_in_order_once_the_writer_is_finished() -> None:
    file = io.BytesIO()
    with BackgroundWriter(file) as writer:
        for block in BLOCKS:
            assert writer.write(block) == len(block)
    assert file.getvalue() == b"".join(BLOCKS)
    assert _upload_threads() == []


class _FullDisk:
    def __init__(self, room: int) -> None:
        self.room = room

    def write(self, data: bytes, /) -> int:
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= len(data)
        return len(data)


def test_a_failed_write_is_raised_in_the_request_thread() -> None:
    # The disk fills up on the second block: the error reaches the upload, at a
    # later write or at the end, never silently
    with pytest.raises(OSError) as raised, BackgroundWriter(_FullDisk(room=1024 * 1024)) as writer:
        for _ in range(8):
            writer.write(bytes(1024 * 1024))
    assert raised.value.errno == errno.ENOSPC
    assert _upload_threads() == []


def test_an_upload_that_fails_midway_leaves_no_thread_behind() -> None:
    with (
        pytest.raises(ConnectionResetError),
        BackgroundDigest() as digest,
        BackgroundWriter(io.BytesIO()) as writer,
    ):
        digest.put(os.urandom(1024 * 1024))
        writer.write(os.urandom(1024 * 1024))
        raise ConnectionResetError("the body stopped arriving")
    assert _upload_threads() == []
