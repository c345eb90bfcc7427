"""An upload's blocks hashed and written on threads of their own, while the request thread seals the next.

The hash and a file's write let go of the GIL for a large block: the digest
(for knowing a form sent again) and the blob writes run on the second core,
beside the parsing and sealing of the same upload, instead of after them on
the request's one thread. In a large upload's worker the two were 35 % of
the CPU time, all of it on the critical path (docs/benchmarks.md).

The digest is BLAKE3, not SHA-256: a quarter of the CPU time (0.18 against
0.73 s a GiB here), and on a 2-core server that time comes out of the
upload's own second core.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from blake3 import blake3

# Blocks waiting on each thread: an upload's memory grows by at most this many reads.
QUEUED_BLOCKS = 4


class BlockSink(Protocol):
    def write(self, data: bytes, /) -> int: ...


class _BlockThread:
    """Hands each block to `consume` on a thread of its own, in order; raises its first error here."""

    def __init__(self, consume: Callable[[bytes], object], name: str) -> None:
        self._consume = consume
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_BLOCKS)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (block := self._blocks.get()) is not None:
            if self._error is None:
                try:
                    self._consume(block)
                except BaseException as error:  # handed to the request thread, which raises it
                    self._error = error

    def put(self, block: bytes) -> None:
        """Queue `block`, which its sender must not change afterwards: it is consumed later."""
        self._raise_error()
        self._blocks.put(block)

    def finish(self) -> None:
        """Wait until every block is consumed, and raise what consuming one raised."""
        if self._thread.is_alive():
            self._blocks.put(None)
            self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if error is None:
            self.finish()
        elif self._thread.is_alive():
            # Already failing: only stop the thread; its own error, if any, is secondary.
            self._blocks.put(None)
            self._thread.join()


class BackgroundDigest(_BlockThread):
    """`put` blocks, then `digest` is the BLAKE3 of all of them in order."""

    def __init__(self) -> None:
        self._blake3 = blake3()
        super().__init__(self._blake3.update, "upload-digest")

    def digest(self) -> bytes:
        self.finish()
        return self._blake3.digest()


class BackgroundWriter(_BlockThread):
    """A writer whose writes reach `sink` on another thread; the file is complete once this is finished.

    Its writer must hand over each block as a buffer of its own, as the
    encryptor does (crypto.age_stream.encrypted_batches): copying each would
    cost a third of what sealing it did.
    """

    def __init__(self, sink: BlockSink) -> None:
        super().__init__(sink.write, "upload-writer")

    def write(self, data: bytes, /) -> int:
        self.put(data)
        return len(data)
