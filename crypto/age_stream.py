"""The age v1 payload: STREAM over ChaCha20-Poly1305 in 64 KiB chunks (https://age-encryption.org/v1).

Chunk i is sealed under the payload key with a 12-byte nonce: i as 11 bytes
big-endian, then 0x01 if it is the last chunk and 0x00 if not. Every chunk
but the last holds exactly 64 KiB; the last may be shorter, and may be empty
only when it is the only one (an empty plaintext).

Data moves in batches of 16 chunks (1 MiB of plaintext): one read and one
write per batch and one cryptography call per chunk, so the per-call cost of
Python stays small beside the cipher's; chunks are sealed straight into the
batch's buffer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import DecryptionError
from crypto.streams import Reader

NONCE_LENGTH = 16
CHUNK_PLAINTEXT = 64 * 1024
TAG_LENGTH = 16
CHUNK_CIPHERTEXT = CHUNK_PLAINTEXT + TAG_LENGTH
CHUNKS_PER_BATCH = 16
BATCH_PLAINTEXT = CHUNKS_PER_BATCH * CHUNK_PLAINTEXT
BATCH_CIPHERTEXT = CHUNKS_PER_BATCH * CHUNK_CIPHERTEXT
_COUNTER_LENGTH = 11


def payload_key(file_key: bytes, nonce: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=b"payload").derive(file_key)


def read_at_most(reader: Reader, size: int) -> bytes:
    """One read of at most `size` bytes, refusing a reader that hands over more."""
    block = reader.read(size)
    if len(block) > size:
        raise ValueError("reader returned more bytes than were asked for")
    return block


def encrypted_batches(key: bytes, reader: Reader) -> Iterator[bytes]:
    """The sealed chunks of everything `reader` yields, about 1 MiB at a time, each batch a buffer of its own."""
    aead = ChaCha20Poly1305(key)
    # Sealed in place: a chunk sealed into its own bytes and then joined
    # cost three times the cipher's own time.
    batch = bytearray(BATCH_CIPHERTEXT)
    filled = 0
    for index, (chunk, last) in enumerate(_plaintext_chunks(reader)):
        end = filled + len(chunk) + TAG_LENGTH
        aead.encrypt_into(_chunk_nonce(index, last), chunk, None, memoryview(batch)[filled:end])
        filled = end
        if last or filled == BATCH_CIPHERTEXT:
            del batch[filled:]
            # A bytearray, which every Writer takes as it takes bytes; copying
            # it into bytes would cost a third of what sealing it did.
            yield cast(bytes, batch)
            batch = bytearray(BATCH_CIPHERTEXT)
            filled = 0


def decrypted_batches(key: bytes, reader: Reader, buffered: bytes | memoryview) -> Iterator[bytes]:
    """The plaintext of the payload that starts with `buffered` and goes on in `reader`.

    Raises DecryptionError on a chunk that fails to authenticate, a missing
    last chunk, an empty last chunk after others, or data after the last
    chunk. Like age, it first yields every chunk authenticated before the
    failure: the caller must treat the output as void when this raises.
    """
    opened: list[bytes] = []
    try:
        for plaintext in _opened_chunks(ChaCha20Poly1305(key), _ciphertext_chunks(reader, buffered)):
            opened.append(plaintext)
            if len(opened) == CHUNKS_PER_BATCH:
                yield b"".join(opened)
                opened.clear()
    except DecryptionError:
        if opened:
            yield b"".join(opened)
        raise
    if opened:
        yield b"".join(opened)


def _opened_chunks(aead: ChaCha20Poly1305, chunks: Iterator[memoryview]) -> Iterator[bytes]:
    last = False
    for index, chunk in enumerate(chunks):
        if last:
            # Only the end of the input may follow the last chunk.
            if chunk:
                raise DecryptionError from None
            return
        if not chunk:
            # The input ended without a chunk marked last: truncated.
            raise DecryptionError from None
        if len(chunk) == TAG_LENGTH and index > 0:
            # An empty last chunk is only the whole of an empty plaintext.
            raise DecryptionError from None
        plaintext = None
        if len(chunk) == CHUNK_CIPHERTEXT:
            plaintext = _open_chunk(aead, chunk, index, last=False)
        if plaintext is None:
            # A full chunk is the last one only if it says so, which shows
            # when it does not open as an inner one: age decides the same way.
            last = True
            plaintext = _open_chunk(aead, chunk, index, last=True)
        if plaintext is None:
            raise DecryptionError from None
        yield plaintext


def _open_chunk(aead: ChaCha20Poly1305, chunk: memoryview, index: int, last: bool) -> bytes | None:
    try:
        return aead.decrypt(_chunk_nonce(index, last), chunk, None)
    except InvalidTag:
        return None


def _chunk_nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(_COUNTER_LENGTH, "big") + (b"\x01" if last else b"\x00")


def _ciphertext_chunks(reader: Reader, buffered: bytes | memoryview) -> Iterator[memoryview]:
    """Full-size chunks as they arrive, then what is left at the end: shorter than a chunk, maybe empty."""
    pending = memoryview(buffered)
    while True:
        while len(pending) >= CHUNK_CIPHERTEXT:
            yield pending[:CHUNK_CIPHERTEXT]
            pending = pending[CHUNK_CIPHERTEXT:]
        # Completing a partial chunk first keeps the later reads on chunk
        # boundaries, so their chunks are views of the block, never copies.
        wanted = CHUNK_CIPHERTEXT - len(pending) if pending else BATCH_CIPHERTEXT
        block = read_at_most(reader, wanted)
        if not block:
            yield pending
            return
        pending = memoryview(bytes(pending) + block) if pending else memoryview(block)


def _plaintext_chunks(reader: Reader) -> Iterator[tuple[memoryview, bool]]:
    """Each chunk of what `reader` yields, and whether it is the last: known only once the next read is in."""
    parts: deque[memoryview] = deque()
    buffered = 0
    while True:
        block = read_at_most(reader, BATCH_PLAINTEXT)
        if block:
            parts.append(memoryview(block))
            buffered += len(block)
        # A chunk with bytes after it is not the last; the last one waits for the end.
        while buffered > CHUNK_PLAINTEXT:
            yield _take(parts, CHUNK_PLAINTEXT), False
            buffered -= CHUNK_PLAINTEXT
        if not block:
            yield _take(parts, buffered), True
            return


def _take(parts: deque[memoryview], size: int) -> memoryview:
    """The first `size` bytes of `parts`, removed from it: a view if one part holds them, else a copy.

    A reader that hands over whole blocks costs no copy; one that hands over
    small pieces costs one copy per byte, never one per read.
    """
    if not parts:
        return memoryview(b"")
    if len(parts[0]) >= size:
        first = parts.popleft()
        if len(first) > size:
            parts.appendleft(first[size:])
        return first[:size]
    pieces = []
    needed = size
    while needed:
        part = parts.popleft()
        if len(part) > needed:
            parts.appendleft(part[needed:])
            part = part[:needed]
        pieces.append(part)
        needed -= len(part)
    return memoryview(b"".join(pieces))
