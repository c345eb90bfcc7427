"""Attachment ciphertext on disk.

Blobs are written under `tmp/` with a random name, renamed into place once
complete, and only then referenced by a committed row. A crash or a failed
commit therefore leaves at most an unreferenced file, which `sweep_orphans`
removes. Nothing but age ciphertext is ever written here.

The writer holds an exclusive `flock` on its file from creation until the
caller's commit is done, however long the upload takes: the sweeper deletes
only files it can lock itself, and asks the database which files are
referenced only after it holds those locks, so it never takes a file that
is still being written or is about to be committed. The kernel drops the
lock when a process dies, which is what makes a crashed upload's file
sweepable.

File and directory times are set to midnight UTC of the day after every
change: a seized disk must not date a submission finer than the day.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import io
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Files of a form that came back for correcting wait here, for at least
# this many whole days, to be attached when the corrected form is sent.
KEPT_DIRECTORY = "kept"
KEPT_DAYS = 1
# Every this many bytes of a blob, the kernel is asked to start writing
# them to disk while the upload goes on (PendingBlob._start_writeback).
WRITEBACK_BYTES = 8 * 1024 * 1024
# Room kept free beyond an upload's own size: the database, logs and the
# operating system share the disk, and a full disk takes the whole site down.
DISK_RESERVE_BYTES = 512 * 1024 * 1024
# Padding (≤ 6.25 % above 1 KiB) and age's per-chunk tags on top of the plaintext.
CIPHERTEXT_OVERHEAD = 1.07


@dataclass(frozen=True)
class BlobStore:
    root: Path

    def ensure(self) -> None:
        try:
            (self.root / "tmp").mkdir(parents=True, mode=0o700)
        except FileExistsError:
            return
        coarsen_times(self.root)

    @contextmanager
    def writer(self) -> Iterator[PendingBlob]:
        """Yield a temp file to stream ciphertext into; it is deleted unless `publish`ed."""
        self.ensure()
        name, temp_path, handle = self._create_locked()
        with handle:
            pending = PendingBlob(self, name, temp_path, handle)
            try:
                yield pending
            finally:
                if not pending.published:
                    temp_path.unlink(missing_ok=True)
                    coarsen_times(temp_path.parent)

    def _create_locked(self) -> tuple[str, Path, io.FileIO]:
        while True:
            name = secrets.token_hex(16)
            temp_path = self.root / "tmp" / f"{name}.partial"
            # Unbuffered, so each write reaches the file before its times are reset.
            handle = open(temp_path, "xb", buffering=0)  # noqa: SIM115 — the caller's `with` closes it
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            # A sweep may have locked and deleted the file in the instant
            # between its creation and our lock: then start a new one.
            if os.fstat(handle.fileno()).st_nlink > 0:
                coarsen_times(handle.fileno())
                coarsen_times(temp_path.parent)
                return name, temp_path, handle
            handle.close()

    def path_of(self, blob_name: str) -> Path:
        _check_name(blob_name)
        return self.root / blob_name[:2] / f"{blob_name}.age"

    def kept_path_of(self, blob_name: str) -> Path:
        _check_name(blob_name)
        return self.root / KEPT_DIRECTORY / f"{blob_name}.age"

    def keep(self, blob: PendingBlob) -> None:
        """Move a finished, unpublished blob to `kept/`, where it waits for a corrected form.

        It stays until it is published or the sweep finds it older than
        KEPT_DAYS; the submitter's form, not the server, remembers it.
        """
        kept_path = self.kept_path_of(blob.name)
        if blob.temp_path != kept_path:
            os.fsync(blob.handle.fileno())
            kept_path.parent.mkdir(exist_ok=True, mode=0o700)
            os.replace(blob.temp_path, kept_path)
            blob.temp_path = kept_path
        for target in (blob.handle.fileno(), kept_path.parent, self.root / "tmp", self.root):
            coarsen_times(target)

    @contextmanager
    def reopen_kept(self, blob_name: str) -> Iterator[PendingBlob]:
        """A kept blob, locked like one being written, to `publish` or leave kept.

        FileNotFoundError if it is gone (swept, or already published).
        """
        kept_path = self.kept_path_of(blob_name)
        with open(kept_path, "r+b", buffering=0) as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            if os.fstat(handle.fileno()).st_nlink == 0:
                raise FileNotFoundError(kept_path)
            blob = PendingBlob(self, blob_name, kept_path, handle)
            blob.size = os.fstat(handle.fileno()).st_size
            yield blob

    def open(self, blob_name: str) -> BinaryIO:
        return open(self.path_of(blob_name), "rb")

    def delete(self, blob_name: str) -> None:
        self.path_of(blob_name).unlink(missing_ok=True)

    def names(self) -> Iterator[str]:
        for path in self.root.glob("??/*.age"):
            yield path.stem

    def sweep_orphans(self, referenced_names: Callable[[], AbstractSet[str]]) -> int:
        """Delete blobs and temp files that no upload is writing and no row references.

        `referenced_names` must read the database afresh each call: it is
        asked again once every candidate is locked, so that a commit that
        happened before a writer let go of its file is seen. Files referenced
        at the first call are never candidates (and need no open handle).
        """
        already_referenced = referenced_names()
        # Times are whole days: kept before yesterday means at least a day old.
        kept_cutoff = midnight_utc_today() - KEPT_DAYS * 86400
        expired_kept = [
            path for path in self.root.glob(f"{KEPT_DIRECTORY}/*.age") if path.stat().st_mtime < kept_cutoff
        ]
        paths = [*self.root.glob("??/*.age"), *self.root.glob("tmp/*.partial"), *expired_kept]
        with ExitStack() as held:
            idle = [
                path
                for path in paths
                if not (path.suffix == ".age" and path.stem in already_referenced)
                and _lock_if_idle(path, held)
            ]
            referenced = referenced_names()
            removed = 0
            for path in idle:
                if path.suffix == ".age" and path.stem in referenced:
                    continue
                path.unlink(missing_ok=True)
                coarsen_times(path.parent)
                removed += 1
        return removed

    def has_room_for(self, plaintext_bytes: int) -> bool:
        """Whether this many bytes of upload fit, as ciphertext, with the reserve left free."""
        self.ensure()
        needed = int(plaintext_bytes * CIPHERTEXT_OVERHEAD) + DISK_RESERVE_BYTES
        return shutil.disk_usage(self.root).free >= needed

    def is_writable(self) -> bool:
        self.ensure()
        probe = self.root / "tmp" / f"health-{secrets.token_hex(4)}"
        try:
            probe.write_bytes(b"")
            probe.unlink()
        except OSError:
            return False
        return True


class PendingBlob:
    """A blob being written: a writer for the encryptor, then `publish`."""

    def __init__(self, store: BlobStore, name: str, temp_path: Path, handle: io.FileIO) -> None:
        self.store = store
        self.name = name
        self.temp_path = temp_path
        self.handle = handle
        self.published = False
        self.size = 0

    def write(self, data: bytes) -> int:
        remaining = memoryview(data)
        while remaining:
            written = self.handle.write(remaining)
            remaining = remaining[written:]
        written_before = self.size
        self.size += len(data)
        coarsen_times(self.handle.fileno())
        if self.size // WRITEBACK_BYTES > written_before // WRITEBACK_BYTES:
            self._start_writeback(self.size - self.size % WRITEBACK_BYTES)
        return len(data)

    def _start_writeback(self, end: int) -> None:
        """Have the kernel start writing what came before `end` to disk, without waiting for it.

        `publish` fsyncs the whole file before the submitter gets an answer:
        left to the end, a large upload's fsync waited for the disk to take
        most of it at once (0.7 s a GiB here).
        """
        os.posix_fadvise(self.handle.fileno(), 0, end, os.POSIX_FADV_DONTNEED)

    def flush(self) -> None:
        self.handle.flush()

    def discard(self) -> None:
        """Give back the disk space of what was written; the writer still deletes the file."""
        os.ftruncate(self.handle.fileno(), 0)
        self.size = 0

    def publish(self) -> str:
        """fsync and move into place; the caller must then commit a row naming it."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        coarsen_times(self.handle.fileno())
        final = self.store.path_of(self.name)
        final.parent.mkdir(exist_ok=True, mode=0o700)
        os.replace(self.temp_path, final)
        for directory in (final.parent, self.temp_path.parent, self.store.root):
            coarsen_times(directory)
        self.published = True
        return self.name


def _lock_if_idle(path: Path, held: ExitStack) -> bool:
    """Take the file's lock without waiting, keeping it in `held`; False if a writer has it."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    held.callback(os.close, descriptor)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def coarsen_times(target: Path | int) -> None:
    """Set access and modification time to midnight UTC today (a path or an open file descriptor)."""
    midnight = midnight_utc_today()
    os.utime(target, (midnight, midnight))


def midnight_utc_today() -> float:
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC).timestamp()


def _check_name(blob_name: str) -> None:
    if len(blob_name) != 32 or not all(c in "0123456789abcdef" for c in blob_name):
        raise ValueError("not a blob name")
