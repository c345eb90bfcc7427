"""Strict structural check of age v1 ciphertext made elsewhere (a browser), without a key.

The server cannot decrypt what a submitter encrypted to the lawyers, but it can
refuse anything that is not exactly what our own script makes: an age v1 header
with one X25519 stanza per current recipient and nothing else, a MAC line, the
16-byte payload nonce, and a payload whose length is a whole STREAM of chunks
carrying a Padmé-padded plaintext. Anything else (another stanza type, a
grease stanza, a non-canonical encoding, a truncated payload) is refused.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from crypto.padding import MIN_PADDED_LENGTH, padded_length, padme

VERSION_LINE = b"age-encryption.org/v1"
X25519_TYPE = b"X25519"
NONCE_LENGTH = 16
CHUNK_PLAINTEXT = 64 * 1024
TAG_LENGTH = 16
CHUNK_CIPHERTEXT = CHUNK_PLAINTEXT + TAG_LENGTH
# An X25519 share and body are 32 bytes: 43 characters of unpadded base64.
_KEY_TEXT_LENGTH = 43
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/]{43}")
# X25519 clamps every scalar to a multiple of the cofactor, so a share makes
# the all-zero secret (which every age decryptor refuses) with this throwaway
# key exactly when it makes it with a lawyer's: no key is needed to see it.
_PROBE_KEY = X25519PrivateKey.generate()


class MalformedAgeFile(ValueError):
    """The bytes are not an age v1 file of the shape we accept; the message says why (never any content)."""


@dataclass(frozen=True)
class AgeFileShape:
    header_length: int  # bytes up to and including the MAC line's newline
    x25519_stanzas: int
    plaintext_length: int  # what the payload decrypts to, padding included


def max_header_length(recipient_count: int) -> int:
    """How many leading bytes hold the header and nonce of a file for this many recipients."""
    stanza = len(b"-> X25519 \n\n") + 2 * _KEY_TEXT_LENGTH
    mac_line = len(b"--- \n") + _KEY_TEXT_LENGTH
    return len(VERSION_LINE) + 1 + recipient_count * stanza + mac_line + NONCE_LENGTH


def max_ciphertext_length(max_plaintext: int, recipient_count: int) -> int:
    """The largest age file our script makes from a plaintext of at most `max_plaintext` bytes."""
    padded = padded_length(max_plaintext)
    chunks = max(1, -(-padded // CHUNK_PLAINTEXT))
    return max_header_length(recipient_count) + padded + chunks * TAG_LENGTH


def check_age_file(head: bytes, total_length: int, expected_recipients: int) -> AgeFileShape:
    """Check an age file from its first bytes and its total length.

    `head` must hold at least the first `max_header_length(expected_recipients)`
    bytes (or the whole file if shorter). Raises MalformedAgeFile.
    """
    if expected_recipients < 1:
        raise ValueError("at least one recipient is expected")
    header_length, stanzas = parse_header(head, max_stanzas=expected_recipients)
    if stanzas != expected_recipients:
        raise MalformedAgeFile("fewer stanzas than recipients")
    plaintext_length = payload_plaintext_length(total_length - header_length - NONCE_LENGTH)
    if not is_padded_length(plaintext_length):
        raise MalformedAgeFile("payload length is not a padding bucket")
    return AgeFileShape(header_length, stanzas, plaintext_length)


def parse_header(head: bytes, max_stanzas: int) -> tuple[int, int]:
    """The header's length (through the MAC line) and its number of X25519 stanzas."""
    lines = _Lines(head)
    if lines.next() != VERSION_LINE:
        raise MalformedAgeFile("not an age v1 header")
    stanzas = 0
    while True:
        line = lines.next()
        if line.startswith(b"--- "):
            _check_key_text(line[4:], "MAC")
            return lines.position, stanzas
        if not line.startswith(b"-> "):
            raise MalformedAgeFile("expected a stanza or the MAC line")
        arguments = line[3:].split(b" ")
        if arguments[0] != X25519_TYPE or len(arguments) != 2:
            raise MalformedAgeFile("only X25519 stanzas are accepted")
        _check_share(_check_key_text(arguments[1], "X25519 share"))
        _check_key_text(lines.next(), "X25519 body")
        stanzas += 1
        if stanzas > max_stanzas:
            raise MalformedAgeFile("more stanzas than recipients")


def payload_plaintext_length(payload_length: int) -> int:
    """What a STREAM payload of this many bytes (nonce excluded) decrypts to."""
    if payload_length < TAG_LENGTH:
        raise MalformedAgeFile("payload nonce or payload missing")
    full_chunks, last_chunk = divmod(payload_length, CHUNK_CIPHERTEXT)
    if last_chunk == 0 and full_chunks > 0:
        return full_chunks * CHUNK_PLAINTEXT
    # Only a wholly empty payload may end in a tag-only chunk.
    if last_chunk < TAG_LENGTH or (last_chunk == TAG_LENGTH and full_chunks > 0):
        raise MalformedAgeFile("payload is not a whole number of chunks")
    return full_chunks * CHUNK_PLAINTEXT + last_chunk - TAG_LENGTH


def is_padded_length(length: int) -> bool:
    """Whether `length` is a size crypto.padding produces (the 1 KiB floor or a Padmé bucket)."""
    return length == MIN_PADDED_LENGTH or (length > MIN_PADDED_LENGTH and padme(length) == length)


def _check_share(share: bytes) -> None:
    try:
        _PROBE_KEY.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:
        raise MalformedAgeFile("X25519 share is a low-order point") from None


def _check_key_text(text: bytes, what: str) -> bytes:
    if not _BASE64_TEXT.fullmatch(text):
        raise MalformedAgeFile(f"{what} is not 32 bytes of base64")
    try:
        raw = base64.b64decode(text + b"=", validate=True)
    except binascii.Error:
        raise MalformedAgeFile(f"{what} is not 32 bytes of base64") from None
    # Canonical encoding only: the unused low bits of the last character are zero.
    if base64.b64encode(raw).rstrip(b"=") != text:
        raise MalformedAgeFile(f"{what} is not canonical base64")
    return raw


class _Lines:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.position = 0

    def next(self) -> bytes:
        end = self._data.find(b"\n", self.position)
        if end < 0:
            raise MalformedAgeFile("header is truncated")
        line = self._data[self.position : end]
        self.position = end + 1
        return line
