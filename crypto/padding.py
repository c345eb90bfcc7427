"""Length-hiding padding: Padmé buckets with ISO/IEC 7816-4 framing.

A plaintext of n bytes becomes `data || 0x80 || 0x00…` of `padded_length(n)`
bytes. The marker makes unpadding self-delimiting, so unpad() needs no stored
length and keeps working if the bucket scheme changes later.
"""

from crypto.errors import DecryptionError
from crypto.streams import Reader, Writer, write_all

MARKER = 0x80
# Below this every plaintext looks the same: short messages ("yes", a phone
# number, a few sentences) are where Padmé alone leaks almost the exact length.
MIN_PADDED_LENGTH = 1024
# Bounds each write of pending zeros, however long the run of padding.
_ZERO_BLOCK = bytes(64 * 1024)


def padme(length: int) -> int:
    """Padmé (Nikitin et al., PURBs, PETS 2019): round `length` up so that only
    O(log log length) bits of it survive, at most about 12 % larger."""
    if length < 0:
        raise ValueError("length must not be negative")
    exponent = length.bit_length() - 1
    if exponent < 1:
        return length
    dropped_bits = exponent - exponent.bit_length()
    mask = (1 << dropped_bits) - 1
    return (length + mask) & ~mask


def padded_length(n: int) -> int:
    """Size of the padded form of an n-byte plaintext (the marker byte included)."""
    if n < 0:
        raise ValueError("length must not be negative")
    return max(MIN_PADDED_LENGTH, padme(n + 1))


def pad(data: bytes) -> bytes:
    zeros = padded_length(len(data)) - len(data) - 1
    return data + bytes([MARKER]) + bytes(zeros)


def unpad(padded: bytes) -> bytes:
    """Strip padding from decrypted data; DecryptionError if it is not padded."""
    content = padded.rstrip(b"\x00")
    if not content or content[-1] != MARKER:
        raise DecryptionError
    return content[:-1]


class PaddingReader:
    """Yields the source, then its padding once the source reaches its end."""

    def __init__(self, source: Reader) -> None:
        self._source = source
        self._source_length = 0
        self._source_done = False
        self._zeros_left = 0

    def read(self, size: int) -> bytes:
        if size < 0:
            raise ValueError("PaddingReader reads in bounded chunks: size must not be negative")
        if size == 0:
            # Asking the source for 0 bytes would return b"", which reads as its end.
            return b""
        if self._source_done:
            return self._take_zeros(size)
        chunk = self._source.read(size)
        if chunk:
            self._source_length += len(chunk)
            return chunk
        self._source_done = True
        self._zeros_left = padded_length(self._source_length) - self._source_length - 1
        return bytes([MARKER]) + self._take_zeros(size - 1)

    def _take_zeros(self, limit: int) -> bytes:
        count = min(limit, self._zeros_left)
        self._zeros_left -= count
        return bytes(count)


class UnpaddingWriter:
    """Forwards decrypted data to `sink`, holding back only what may be padding.

    What may be padding is always a 0x80 followed by zeros, so it is kept as a
    count, not as bytes: memory stays bounded however long the padding is.
    Call finish() after the last write: it raises DecryptionError if the data
    did not end in padding.
    """

    def __init__(self, sink: Writer) -> None:
        self._sink = sink
        self._marker_pending = False
        self._pending_zeros = 0

    def write(self, data: bytes) -> int:
        content_end = len(data.rstrip(b"\x00"))
        if content_end == 0:
            self._absorb_zeros(len(data))
        elif data[content_end - 1] == MARKER:
            self._release_pending()
            write_all(self._sink, data[: content_end - 1])
            self._marker_pending = True
            self._pending_zeros = len(data) - content_end
        else:
            self._release_pending()
            write_all(self._sink, data)
        return len(data)

    def finish(self) -> None:
        if not self._marker_pending:
            raise DecryptionError

    def _absorb_zeros(self, count: int) -> None:
        if self._marker_pending:
            self._pending_zeros += count
        else:
            # Zeros with no marker before them must precede a later marker: content.
            self._write_zeros(count)

    def _release_pending(self) -> None:
        """What was held back turned out to be content, not the end of it."""
        if self._marker_pending:
            write_all(self._sink, bytes([MARKER]))
            self._write_zeros(self._pending_zeros)
        self._marker_pending = False
        self._pending_zeros = 0

    def _write_zeros(self, count: int) -> None:
        while count:
            block = _ZERO_BLOCK[: min(count, len(_ZERO_BLOCK))]
            write_all(self._sink, block)
            count -= len(block)
