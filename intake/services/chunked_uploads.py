"""Resumable uploads of browser-made ciphertext, in checksummed chunks (after tus 1.0 core).

A browser that encrypted a file itself sends the ciphertext in chunks: it
declares the total length, asks for the offset after a cut, and appends
chunks that each carry a SHA-256. Chunks go to `uploads/<id>.partial` under
the blob root, a directory of its own so the attachment sweeper's grace
period never meets a live upload. Like every blob, a partial carries only the
day as its time (set after each change), so `sweep_abandoned` removes uploads
nobody appended to since before yesterday (at least ABANDONED_DAYS whole day)
and never one whose chunk is being written. A finished file must be an age file
of the expected shape (crypto.age_header) or it is deleted: nothing that is
not such ciphertext is kept. The service knows nothing of who owns an
upload: the caller binds ids to a client (the session cookie).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from crypto.age_header import MalformedAgeFile, check_age_file, max_header_length
from intake.services.blobstore import BlobStore, PendingBlob, coarsen_times, midnight_utc_today

# A lost circuit or a laptop lid: long enough to come back, short enough
# that abandoned ciphertext does not fill the disk.
ABANDONED_DAYS = 1
# Each chunk is held in memory until its checksum is verified.
MAX_CHUNK_BYTES = 4 * 1024 * 1024
_READ_BYTES = 64 * 1024
_UPLOAD_NAME = re.compile(r"([0-9a-f]{32})-([0-9]+)\.partial")


class UploadRefused(Exception):
    """A request about an upload that cannot be honoured; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class UploadStatus:
    upload_id: str
    length: int
    offset: int

    @property
    def complete(self) -> bool:
        return self.offset == self.length


class ChunkedUploads:
    """Uploads in progress under `<blob root>/uploads`; the declared length is part of the file name."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self.directory = store.root / "uploads"

    def create(self, length: int, max_length: int) -> UploadStatus:
        if length <= 0:
            raise UploadRefused(400, "an upload needs a positive length")
        if length > max_length:
            raise UploadRefused(413, "larger than the limit")
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        upload_id = secrets.token_hex(16)
        path = self._path(upload_id, length)
        path.touch(mode=0o600, exist_ok=False)
        coarsen_times(path)
        coarsen_times(self.directory)
        return UploadStatus(upload_id, length, 0)

    def status(self, upload_id: str) -> UploadStatus:
        path, length = self._find(upload_id)
        try:
            return UploadStatus(upload_id, length, path.stat().st_size)
        except FileNotFoundError:
            raise UploadRefused(404, "no such upload") from None

    def append(
        self, upload_id: str, offset: int, chunk: IO[bytes], declared_bytes: int, sha256: bytes
    ) -> UploadStatus:
        """Append one chunk read from `chunk` (exactly `declared_bytes`), if its SHA-256 matches.

        A chunk whose checksum fails is discarded whole; the offset stays.
        """
        path, length = self._find(upload_id)
        if declared_bytes <= 0 or declared_bytes > MAX_CHUNK_BYTES:
            raise UploadRefused(413, "chunk size out of range")
        with self._locked(path) as handle:
            current = handle.seek(0, os.SEEK_END)
            if offset != current:
                raise UploadRefused(409, "offset does not match")
            if current + declared_bytes > length:
                raise UploadRefused(413, "chunk goes past the declared length")
            data = _read_exactly(chunk, declared_bytes)
            if not hmac.compare_digest(hashlib.sha256(data).digest(), sha256):
                raise UploadRefused(460, "checksum mismatch")
            handle.write(data)
            handle.flush()
            coarsen_times(handle.fileno())
            return UploadStatus(upload_id, length, current + len(data))

    def check_complete(self, upload_id: str, expected_recipients: int) -> UploadStatus:
        """Verify a fully sent upload is age ciphertext of our shape; delete it if not."""
        status = self.status(upload_id)
        if not status.complete:
            raise UploadRefused(409, "upload not complete")
        path, _ = self._find(upload_id)
        with open(path, "rb") as handle:
            head = handle.read(max_header_length(expected_recipients))
        try:
            check_age_file(head, status.length, expected_recipients)
        except MalformedAgeFile:
            path.unlink(missing_ok=True)
            raise UploadRefused(422, "not age ciphertext of the expected shape") from None
        return status

    @contextmanager
    def finished_blob(self, upload_id: str, expected_recipients: int) -> Iterator[PendingBlob]:
        """The checked upload as a blob to publish; unpublished, it is deleted on exit."""
        status = self.check_complete(upload_id, expected_recipients)
        path, _ = self._find(upload_id)
        with open(path, "rb", buffering=0) as handle:
            blob = PendingBlob(self.store, secrets.token_hex(16), path, handle)
            blob.size = status.length
            try:
                yield blob
            finally:
                if not blob.published:
                    path.unlink(missing_ok=True)

    def discard(self, upload_id: str) -> None:
        path, _ = self._find(upload_id)
        path.unlink(missing_ok=True)

    def sweep_abandoned(self) -> int:
        # Times are whole days: untouched before yesterday means idle for at least a day.
        cutoff = midnight_utc_today() - ABANDONED_DAYS * 86400
        removed = 0
        for path in self.directory.glob("*.partial"):
            try:
                if path.stat().st_mtime >= cutoff:
                    continue
                with self._locked(path):
                    path.unlink()
                    removed += 1
            except (FileNotFoundError, UploadRefused):
                continue
        if removed:
            coarsen_times(self.directory)
        return removed

    def _path(self, upload_id: str, length: int) -> Path:
        return self.directory / f"{upload_id}-{length}.partial"

    def _find(self, upload_id: str) -> tuple[Path, int]:
        if not re.fullmatch(r"[0-9a-f]{32}", upload_id):
            raise UploadRefused(404, "no such upload")
        for path in self.directory.glob(f"{upload_id}-*.partial"):
            match = _UPLOAD_NAME.fullmatch(path.name)
            if match:
                return path, int(match.group(2))
        raise UploadRefused(404, "no such upload")

    @contextmanager
    def _locked(self, path: Path) -> Iterator[BinaryIO]:
        try:
            # Never O_CREAT: a chunk for an upload that was swept or finished must not revive it.
            descriptor = os.open(path, os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            raise UploadRefused(404, "no such upload") from None
        with open(descriptor, "ab") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UploadRefused(409, "another chunk of this upload is being written") from None
            yield handle


def _read_exactly(stream: IO[bytes], count: int) -> bytes:
    parts: list[bytes] = []
    remaining = count
    while remaining:
        part = stream.read(min(remaining, _READ_BYTES))
        if not part:
            raise UploadRefused(400, "chunk shorter than declared")
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)
