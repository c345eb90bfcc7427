"""Attachment ciphertext on disk.

Blobs are written under `tmp/` with a random name, renamed into place once
complete, and only then referenced by a committed row. A crash or a failed
commit therefore leaves at most an unreferenced file, which `sweep_orphans`
removes after a grace period. Nothing but age ciphertext is ever written here.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

ORPHAN_GRACE_SECONDS = 3600
# Room kept free beyond an upload's own size: the database, logs and the
# operating system share the disk, and a full disk takes the whole site down.
DISK_RESERVE_BYTES = 512 * 1024 * 1024
# Padding (≤ 6.25 % above 1 KiB) and age's per-chunk tags on top of the plaintext.
CIPHERTEXT_OVERHEAD = 1.07


@dataclass(frozen=True)
class BlobStore:
    root: Path

    def ensure(self) -> None:
        (self.root / "tmp").mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextmanager
    def writer(self) -> Iterator[PendingBlob]:
        """Yield a temp file to stream ciphertext into; it is deleted unless `publish`ed."""
        self.ensure()
        name = secrets.token_hex(16)
        temp_path = self.root / "tmp" / f"{name}.partial"
        with open(temp_path, "xb") as handle:
            pending = PendingBlob(self, name, temp_path, handle)
            try:
                yield pending
            finally:
                if not pending.published:
                    temp_path.unlink(missing_ok=True)

    def path_of(self, blob_name: str) -> Path:
        if len(blob_name) != 32 or not all(c in "0123456789abcdef" for c in blob_name):
            raise ValueError("not a blob name")
        return self.root / blob_name[:2] / f"{blob_name}.age"

    def open(self, blob_name: str) -> BinaryIO:
        return open(self.path_of(blob_name), "rb")

    def delete(self, blob_name: str) -> None:
        self.path_of(blob_name).unlink(missing_ok=True)

    def names(self) -> Iterator[str]:
        for path in self.root.glob("??/*.age"):
            yield path.stem

    def sweep_orphans(self, referenced: AbstractSet[str], older_than: float = ORPHAN_GRACE_SECONDS) -> int:
        """Delete blobs and temp files no row references, once older than the grace period."""
        cutoff = time.time() - older_than
        removed = 0
        candidates = [*self.root.glob("??/*.age"), *self.root.glob("tmp/*")]
        for path in candidates:
            name = path.stem if path.suffix == ".age" else None
            if name in referenced:
                continue
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
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

    def __init__(self, store: BlobStore, name: str, temp_path: Path, handle: BinaryIO) -> None:
        self.store = store
        self.name = name
        self.temp_path = temp_path
        self.handle = handle
        self.published = False
        self.size = 0

    def write(self, data: bytes) -> int:
        self.handle.write(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        self.handle.flush()

    def publish(self) -> str:
        """fsync and move into place; the caller must then commit a row naming it."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        final = self.store.path_of(self.name)
        final.parent.mkdir(exist_ok=True, mode=0o700)
        os.replace(self.temp_path, final)
        self.published = True
        return self.name
