"""age v1 encryption to X25519 recipients, in memory and streaming, through pyrage.

The in-memory functions go through pyrage's streaming calls too: its
bytes-in/bytes-out functions measured twice as slow on 64 MiB (encrypt 0.23 s
against 0.11 s, decrypt 0.28 s against 0.14 s).
"""

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pyrage

from crypto.errors import DecryptionError
from crypto.streams import Reader, Writer, write_all


def encrypt(plaintext: bytes, recipients: Sequence[str]) -> bytes:
    ciphertext = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), ciphertext, recipients)
    return ciphertext.getvalue()


def decrypt(ciphertext: bytes, identities: Sequence[str]) -> bytes:
    plaintext = io.BytesIO()
    decrypt_stream(io.BytesIO(ciphertext), plaintext, identities)
    return plaintext.getvalue()


def encrypt_stream(reader: Reader, writer: Writer, recipients: Sequence[str]) -> None:
    """Encrypt everything `reader` yields into `writer`, holding only a chunk in memory."""
    parsed = _parse_recipients(recipients)
    with _guarded_io(reader, writer) as (source, sink):
        pyrage.encrypt_io(source, sink, parsed)


def decrypt_stream(reader: Reader, writer: Writer, identities: Sequence[str]) -> None:
    """Decrypt `reader` into `writer`, holding only a chunk in memory.

    As in age, each chunk is written as soon as it is authenticated, so
    `writer` may have received a prefix of the plaintext before a
    DecryptionError (say, a truncated or tampered later chunk): discard its
    output when this raises.
    """
    parsed = _parse_identities(identities)
    with _guarded_io(reader, writer) as (source, sink):
        try:
            pyrage.decrypt_io(source, sink, parsed)
        # pyrage reports bad headers as DecryptError but bad payload chunks as
        # OSError; an OSError of the caller's own is re-raised by _guarded_io.
        except (pyrage.DecryptError, OSError):
            raise DecryptionError from None


def _parse_recipients(recipients: Sequence[str]) -> list[pyrage.x25519.Recipient]:
    _reject_lone_string(recipients, "recipients")
    if not recipients:
        raise ValueError("at least one recipient is required")
    try:
        return [pyrage.x25519.Recipient.from_str(recipient) for recipient in recipients]
    except pyrage.RecipientError:
        raise ValueError("not an age X25519 recipient") from None


def _parse_identities(identities: Sequence[str]) -> list[pyrage.x25519.Identity]:
    _reject_lone_string(identities, "identities")
    if not identities:
        raise ValueError("at least one identity is required")
    try:
        return [pyrage.x25519.Identity.from_str(identity) for identity in identities]
    except pyrage.IdentityError:
        # Never echo the offending text: it is meant to be a secret key.
        raise ValueError("not an age X25519 identity") from None


def _reject_lone_string(keys: Sequence[str], name: str) -> None:
    # A str is itself a Sequence[str]; iterating it would try each character as a key.
    if isinstance(keys, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single string")


@contextmanager
def _guarded_io(reader: Reader, writer: Writer) -> Iterator[tuple["_GuardedReader", "_GuardedWriter"]]:
    """Re-raise the caller's own I/O error in place of whatever pyrage made of it.

    pyrage turns a failing read into its own error type (a disk error would
    pass for tampering) and can even return normally after the writer raised,
    when the failure surfaces while it flushes the last chunk.
    """
    source = _GuardedReader(reader)
    sink = _GuardedWriter(writer)
    try:
        yield source, sink
    except Exception:
        source.raise_if_failed()
        sink.raise_if_failed()
        raise
    source.raise_if_failed()
    sink.raise_if_failed()


class _Guarded:
    """Remembers the first exception the wrapped object raised."""

    def __init__(self) -> None:
        self._error: Exception | None = None

    def raise_if_failed(self) -> None:
        if self._error is not None:
            raise self._error


class _GuardedReader(_Guarded):
    def __init__(self, reader: Reader) -> None:
        super().__init__()
        self._reader = reader

    def read(self, size: int) -> bytes:
        try:
            chunk = self._reader.read(size)
        except Exception as exc:
            self._error = exc
            raise
        if len(chunk) > size:
            self._error = ValueError("reader returned more bytes than were asked for")
            raise self._error
        return chunk


class _GuardedWriter(_Guarded):
    """Also completes partial writes, because pyrage needs write() to return
    exactly how much it took: it rejects None and panics on a count above len(data)."""

    def __init__(self, writer: Writer) -> None:
        super().__init__()
        self._writer = writer

    def write(self, data: bytes) -> int:
        try:
            write_all(self._writer, data)
        except Exception as exc:
            self._error = exc
            raise
        return len(data)
