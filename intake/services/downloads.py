"""Attachments decrypted on the fly into the HTTP response, never onto disk.

A download is a plain generator over `crypto.decrypted_pieces_padded`: the
response pulls 1 MiB of plaintext at a time straight from the decryption,
in the request's own thread, so memory stays at a few MiB whatever the file
size and the blob is closed as soon as the client goes away (the server
closes the iterator). Case exports write their ZIP through a pushing API
(zipfile), which `pushed_chunks` turns into a response iterator with a
worker thread and a small bounded queue.
"""

from __future__ import annotations

import queue
import re
import threading
import unicodedata
import uuid
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from crypto import DecryptionError, Identity, Writer, decrypted_pieces_padded
from intake.models import Attachment, Case, Item, User
from intake.services import audit
from intake.services.blobstore import BlobStore
from intake.services.items import open_item

# Each piece handed to the response costs, through gunicorn, a chunked-encoding
# frame and a send(), and through pushed_chunks a hand-over between threads:
# at 8 KiB those cost more than the decryption (docs/benchmarks.md).
CHUNK_BYTES = 1024 * 1024
# Pieces waiting between pushed_chunks' thread and the response: with the
# one being filled and the one being sent, about 4 MiB in memory.
CHUNKS_IN_FLIGHT = 2
# How often a blocked thread looks up to see whether the download was abandoned.
CANCEL_POLL_SECONDS = 0.25
MAX_FILENAME_LENGTH = 180
FALLBACK_FILENAME = "attachment"
_UNSAFE_ASCII = re.compile(r"[^A-Za-z0-9._ ()+-]")


class DownloadFailed(RuntimeError):
    """Decryption stopped mid-stream; the server must drop the connection so the
    browser marks the download as failed instead of saving a truncated file."""


class _Cancelled(Exception):
    """The consumer went away; unwinds the producer from inside its writer."""


@dataclass(frozen=True)
class _Finished:
    error: BaseException | None


# Puts one item on the queue, or raises _Cancelled once the consumer is gone.
_HandOver = Callable[[bytes | _Finished], None]


@dataclass(frozen=True)
class DownloadTarget:
    blob_name: str
    # As the submitter named it; pass through content_disposition before use.
    filename: str


def find_download(
    session: Session, case: Case, attachment_id: uuid.UUID, viewer: User, identity: Identity
) -> DownloadTarget | None:
    """The blob and filename of an attachment in `case` that the viewer's key can read, audited."""
    attachment = session.scalar(
        select(Attachment)
        .join(Item, Item.id == Attachment.item_id)
        .where(Attachment.id == attachment_id, Item.case_id == case.id)
        .options(selectinload(Attachment.item).selectinload(Item.recipients))
    )
    if attachment is None or viewer.id not in {recipient.user_id for recipient in attachment.item.recipients}:
        return None
    try:
        payload = open_item(attachment.item.ciphertext, [identity.secret])
    except DecryptionError:
        return None
    meta = next((meta for meta in payload.attachments if meta.attachment_id == str(attachment.id)), None)
    if meta is None:
        return None
    audit.record(session, "attachment.downloaded", actor=viewer, case_number=case.number)
    session.commit()
    return DownloadTarget(blob_name=attachment.blob_name, filename=meta.filename)


def safe_filename(name: str) -> str:
    """A filename that cannot climb directories or disguise itself.

    Drops path parts, control and formatting characters (which include the
    right-to-left override used to turn "gpj.exe" into "exe.jpg" on screen)
    and leading dots, and bounds the length.
    """
    name = PureWindowsPath(PurePosixPath(name).name).name
    name = "".join(
        ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch) not in ("Cc", "Cf")
    )
    name = name.strip().lstrip(".").strip()
    return name[:MAX_FILENAME_LENGTH] or FALLBACK_FILENAME


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 5987 `filename*`."""
    name = safe_filename(filename)
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = _UNSAFE_ASCII.sub("_", ascii_name).strip(" .") or FALLBACK_FILENAME
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def decrypted_chunks(store: BlobStore, blob_name: str, identity_secret: str) -> Generator[bytes, None, None]:
    """Yield the plaintext of one attachment blob in CHUNK_BYTES pieces (the last one shorter).

    Raises DownloadFailed if it cannot be finished. Closing the generator
    early closes the blob.
    """
    try:
        with store.open(blob_name) as ciphertext:
            yield from _in_pieces_of(CHUNK_BYTES, decrypted_pieces_padded(ciphertext, [identity_secret]))
    except Exception as error:
        raise DownloadFailed("the stream could not be finished") from error


def _in_pieces_of(size: int, pieces: Iterator[bytes]) -> Iterator[bytes]:
    """The same bytes regrouped into pieces of exactly `size`, the last one shorter.

    Decryption yields 1 MiB pieces already; unpadding shifts them only where
    it held back what might have been padding, so most pass through uncopied.
    """
    pending = bytearray()
    for piece in pieces:
        if not pending and len(piece) == size:
            yield piece
            continue
        pending += piece
        while len(pending) >= size:
            with memoryview(pending) as view:
                full = bytes(view[:size])
            del pending[:size]
            yield full
    if pending:
        yield bytes(pending)


def pushed_chunks(produce: Callable[[Writer], None], thread_name: str) -> Generator[bytes, None, None]:
    """Run `produce(writer)` in a thread and yield what it writes, in pieces of CHUNK_BYTES.

    Raises DownloadFailed if `produce` raises; closing the iterator early stops
    the thread (its next write raises inside it) and waits for it.
    """
    chunks: queue.Queue[bytes | _Finished] = queue.Queue(maxsize=CHUNKS_IN_FLIGHT)
    cancelled = threading.Event()

    def hand_over(item: bytes | _Finished) -> None:
        while not cancelled.is_set():
            try:
                chunks.put(item, timeout=CANCEL_POLL_SECONDS)
                return
            except queue.Full:
                continue
        raise _Cancelled

    def run() -> None:
        writer = _GatheringWriter(hand_over)
        try:
            produce(writer)
            writer.flush()
        except _Cancelled:
            return
        except Exception as error:  # noqa: BLE001 — handed to the consumer, which raises it
            _hand_over_quietly(hand_over, _Finished(error))
            return
        _hand_over_quietly(hand_over, _Finished(None))

    worker = threading.Thread(target=run, name=thread_name, daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if isinstance(item, _Finished):
                if item.error is not None:
                    raise DownloadFailed("the stream could not be finished") from item.error
                return
            yield item
    finally:
        cancelled.set()
        worker.join()


def _hand_over_quietly(hand_over: _HandOver, item: _Finished) -> None:
    try:
        hand_over(item)
    except _Cancelled:
        return


class _GatheringWriter:
    """Gathers writes into CHUNK_BYTES pieces and hands each over when full; flush() the rest."""

    def __init__(self, hand_over: _HandOver) -> None:
        self._hand_over = hand_over
        self._pending = bytearray()

    def write(self, data: bytes) -> int:
        # Copied in: a writer may reuse its buffer after write() returns.
        self._pending += data
        while len(self._pending) >= CHUNK_BYTES:
            chunk = bytes(self._pending[:CHUNK_BYTES])
            del self._pending[:CHUNK_BYTES]
            self._hand_over(chunk)
        return len(data)

    def flush(self) -> None:
        if self._pending:
            chunk = bytes(self._pending)
            self._pending.clear()
            self._hand_over(chunk)


class ChunkReader:
    """A Reader over an iterator of chunks (such as `decrypted_chunks`), for encrypt_stream to pull from."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def read(self, size: int) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            # A whole chunk that fits goes out as it is, uncopied.
            if 0 < len(chunk) <= size:
                return chunk
            self._pending = memoryview(chunk)
        taken = self._pending[:size]
        self._pending = self._pending[size:]
        return bytes(taken)
