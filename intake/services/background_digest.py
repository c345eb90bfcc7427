"""SHA-256 of an upload's bytes, computed on a thread of its own while the request thread seals them.

hashlib lets go of the GIL while it hashes a large block, so the digest runs
on another core beside the parsing, sealing and writing of the same bytes:
in a large upload's worker SHA-256 was a third of the CPU time, all of it on
the request's critical path (docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from types import TracebackType

# Blocks waiting to be hashed: the upload's memory grows by at most this many reads.
QUEUED_BLOCKS = 4


class BackgroundSha256:
    """Feed it immutable blocks with `update`, then ask `digest`; use it as a context manager."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_BLOCKS)
        self._thread = threading.Thread(target=self._hash_blocks, name="upload-sha256", daemon=True)
        self._thread.start()

    def _hash_blocks(self) -> None:
        while (block := self._blocks.get()) is not None:
            self._sha256.update(block)

    def update(self, block: bytes) -> None:
        # bytes, not a view of a buffer that is reused: the block is hashed later.
        self._blocks.put(bytes(block) if not isinstance(block, bytes) else block)

    def digest(self) -> bytes:
        self._finish()
        return self._sha256.digest()

    def _finish(self) -> None:
        if self._thread.is_alive():
            self._blocks.put(None)
            self._thread.join()

    def __enter__(self) -> BackgroundSha256:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._finish()
