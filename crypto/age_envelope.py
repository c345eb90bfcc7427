"""age v1 encryption to X25519 recipients, in memory and streaming.

Our own implementation of https://age-encryption.org/v1 on `cryptography`
(X25519, HKDF-SHA256, HMAC-SHA256, ChaCha20-Poly1305): the header in
`age_format` and `age_x25519`, the payload in `age_stream`. It reads and
writes about 1 MiB at a time and holds a few MiB whatever the size. Files
open with the stock `age -d`, and files from `age`, rage or a browser open
here; the tests hold it to the public test vectors and to the `age` CLI.

Only X25519 recipients are made. On decryption, stanzas of other types are
skipped as age skips them, so a "grease" stanza does not stop a file.
"""

from __future__ import annotations

import hmac
import io
import secrets
from collections.abc import Iterator, Sequence

from crypto.age_format import Stanza, encode_header, header_end, header_mac, parse_header
from crypto.age_stream import (
    BATCH_CIPHERTEXT,
    NONCE_LENGTH,
    decrypted_batches,
    encrypted_batches,
    payload_key,
    read_at_most,
)
from crypto.age_x25519 import FILE_KEY_LENGTH, UnwrappingKey, unwrap_file_key, wrap_file_key
from crypto.errors import DecryptionError
from crypto.identity import identity_secret_bytes, recipient_public_bytes
from crypto.streams import Reader, Writer, write_all

# age sets no limit; this one keeps memory bounded on a hostile file. A
# header of this size would name about 9,000 recipients.
MAX_HEADER_LENGTH = 1024 * 1024


def encrypt(plaintext: bytes, recipients: Sequence[str]) -> bytes:
    ciphertext = io.BytesIO()
    encrypt_stream(io.BytesIO(plaintext), ciphertext, recipients)
    return ciphertext.getvalue()


def decrypt(ciphertext: bytes, identities: Sequence[str]) -> bytes:
    return Decrypter(identities).decrypt(ciphertext)


class Decrypter:
    """Identities parsed once, for many small ciphertexts to the same keys (an inbox's summaries).

    Parsing an identity (bech32, then the X25519 key) costs about as much as
    opening a small file with it. Hold one no longer than the identities.
    """

    def __init__(self, identities: Sequence[str]) -> None:
        self._keys = _parse_identities(identities)

    def decrypt(self, ciphertext: bytes) -> bytes:
        return b"".join(_decrypted_pieces(io.BytesIO(ciphertext), self._keys))


def encrypt_stream(reader: Reader, writer: Writer, recipients: Sequence[str]) -> None:
    """Encrypt everything `reader` yields into `writer`, about 1 MiB at a time.

    An exception from `reader` or `writer` comes back as itself.
    """
    public_keys = _parse_recipients(recipients)
    file_key = secrets.token_bytes(FILE_KEY_LENGTH)
    header = encode_header([wrap_file_key(file_key, public_key) for public_key in public_keys], file_key)
    nonce = secrets.token_bytes(NONCE_LENGTH)
    write_all(writer, header + nonce)
    for batch in encrypted_batches(payload_key(file_key, nonce), reader):
        write_all(writer, batch)


def decrypt_stream(reader: Reader, writer: Writer, identities: Sequence[str]) -> None:
    """Decrypt `reader` into `writer`, about 1 MiB at a time.

    As in age, plaintext is written as soon as it is authenticated, so
    `writer` may have received a prefix of the plaintext before a
    DecryptionError (say, a truncated or tampered later chunk): discard its
    output when this raises. An exception from `reader` or `writer` comes
    back as itself, never as a DecryptionError.
    """
    for piece in decrypted_pieces(reader, identities):
        write_all(writer, piece)


def decrypted_pieces(reader: Reader, identities: Sequence[str]) -> Iterator[bytes]:
    """The plaintext of `reader`, pulled piece by piece (1 MiB each but the last).

    For callers that hand plaintext on as they get it, such as an HTTP
    response. Misuse (no identities, a malformed one) raises here; everything
    about the ciphertext raises while iterating. As with decrypt_stream, the
    pieces already handed out before a DecryptionError must be discarded.
    """
    return _decrypted_pieces(reader, _parse_identities(identities))


def _decrypted_pieces(reader: Reader, keys: list[UnwrappingKey]) -> Iterator[bytes]:
    header_bytes, rest = _read_header(reader)
    header = parse_header(header_bytes)
    file_key = _unwrap(header.stanzas, keys)
    if not hmac.compare_digest(header_mac(file_key, header.mac_input), header.mac):
        raise DecryptionError from None
    while len(rest) < NONCE_LENGTH:
        block = read_at_most(reader, BATCH_CIPHERTEXT)
        if not block:
            raise DecryptionError from None
        rest = memoryview(bytes(rest) + block)
    nonce = bytes(rest[:NONCE_LENGTH])
    yield from decrypted_batches(payload_key(file_key, nonce), reader, rest[NONCE_LENGTH:])


def _read_header(reader: Reader) -> tuple[bytes, memoryview]:
    """The header's bytes, and the bytes read after it."""
    buffer = bytearray()
    while (end := header_end(buffer)) is None:
        if len(buffer) > MAX_HEADER_LENGTH:
            raise DecryptionError from None
        block = read_at_most(reader, BATCH_CIPHERTEXT)
        if not block:
            raise DecryptionError from None
        buffer += block
    if end > MAX_HEADER_LENGTH:
        raise DecryptionError from None
    return bytes(buffer[:end]), memoryview(buffer)[end:]


def _unwrap(stanzas: Sequence[Stanza], keys: list[UnwrappingKey]) -> bytes:
    # Identity by identity, each against every stanza in order, as age does:
    # a malformed X25519 stanza met before a match fails the file.
    for key in keys:
        for stanza in stanzas:
            file_key = unwrap_file_key(stanza, key)
            if file_key is not None:
                return file_key
    raise DecryptionError from None


def _parse_recipients(recipients: Sequence[str]) -> list[bytes]:
    _reject_lone_string(recipients, "recipients")
    if not recipients:
        raise ValueError("at least one recipient is required")
    return [recipient_public_bytes(recipient) for recipient in recipients]


def _parse_identities(identities: Sequence[str]) -> list[UnwrappingKey]:
    _reject_lone_string(identities, "identities")
    if not identities:
        raise ValueError("at least one identity is required")
    # identity_secret_bytes never echoes the text: it is meant to be a secret key.
    return [UnwrappingKey.from_secret(identity_secret_bytes(identity)) for identity in identities]


def _reject_lone_string(keys: Sequence[str], name: str) -> None:
    # A str is itself a Sequence[str]; iterating it would try each character as a key.
    if isinstance(keys, str):
        raise TypeError(f"{name} must be a sequence of strings, not a single string")
