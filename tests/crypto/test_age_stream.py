"""Our age v1 implementation on hand-made files: STREAM chunk rules, header rules, block sizes.

Payloads here are sealed chunk by chunk with `cryptography` straight from
the spec (key = HKDF-SHA256(file key, salt = nonce, info "payload"); nonce =
11-byte big-endian counter || last flag), so each file breaks exactly one rule.
"""

from __future__ import annotations

import io
import os
import random
import secrets

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto import DecryptionError, Identity, decrypt, decrypt_stream, encrypt, encrypt_stream
from crypto.age_envelope import MAX_HEADER_LENGTH, decrypted_pieces
from crypto.age_format import Stanza, encode_header
from crypto.age_x25519 import wrap_file_key
from crypto.identity import recipient_public_bytes

CHUNK = 64 * 1024
MIB = 1024 * 1024


def seal_chunk(key: bytes, index: int, plaintext: bytes, last: bool) -> bytes:
    nonce = index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
    return ChaCha20Poly1305(key).encrypt(nonce, plaintext, None)


def age_file(
    identity: Identity, chunks: list[tuple[int, bytes, bool]], extra: list[Stanza] | None = None
) -> bytes:
    """A header to `identity` (after any `extra` stanzas), then each (counter, plaintext, last) chunk."""
    file_key = secrets.token_bytes(16)
    stanza = wrap_file_key(file_key, recipient_public_bytes(identity.recipient))
    header = encode_header([*(extra or []), stanza], file_key)
    nonce = secrets.token_bytes(16)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=b"payload").derive(file_key)
    return header + nonce + b"".join(seal_chunk(key, index, data, last) for index, data, last in chunks)


def released_before_failure(ciphertext: bytes, identity: Identity) -> bytes:
    released = io.BytesIO()
    with pytest.raises(DecryptionError):
        decrypt_stream(io.BytesIO(ciphertext), released, [identity.secret])
    return released.getvalue()


FIRST, SECOND = os.urandom(CHUNK), os.urandom(CHUNK)


def test_hand_made_file_as_the_spec_describes_it_decrypts(identity: Identity) -> None:
    ciphertext = age_file(identity, [(0, FIRST, False), (1, SECOND, False), (2, b"end", True)])
    assert decrypt(ciphertext, [identity.secret]) == FIRST + SECOND + b"end"


def test_full_size_last_chunk_decrypts(identity: Identity) -> None:
    ciphertext = age_file(identity, [(0, FIRST, False), (1, SECOND, True)])
    assert decrypt(ciphertext, [identity.secret]) == FIRST + SECOND


def test_empty_last_chunk_after_others_is_refused(identity: Identity) -> None:
    ciphertext = age_file(identity, [(0, FIRST, False), (1, b"", True)])
    assert released_before_failure(ciphertext, identity) == FIRST


def test_empty_last_chunk_alone_is_an_empty_plaintext(identity: Identity) -> None:
    assert decrypt(age_file(identity, [(0, b"", True)]), [identity.secret]) == b""


def test_missing_last_chunk_is_refused_after_releasing_the_rest(identity: Identity) -> None:
    ciphertext = age_file(identity, [(0, FIRST, False), (1, SECOND, False)])
    assert released_before_failure(ciphertext, identity) == FIRST + SECOND


def test_payload_with_no_chunk_at_all_is_refused(identity: Identity) -> None:
    assert released_before_failure(age_file(identity, []), identity) == b""


def test_reordered_chunks_are_refused(identity: Identity) -> None:
    in_order = age_file(identity, [(0, FIRST, False), (1, SECOND, False), (2, b"end", True)])
    payload_start = len(in_order) - 2 * (CHUNK + 16) - (3 + 16)
    first = in_order[payload_start : payload_start + CHUNK + 16]
    second = in_order[payload_start + CHUNK + 16 : payload_start + 2 * (CHUNK + 16)]
    swapped = in_order[:payload_start] + second + first + in_order[payload_start + 2 * (CHUNK + 16) :]
    assert released_before_failure(swapped, identity) == b""


def test_chunk_with_a_skipped_counter_is_refused(identity: Identity) -> None:
    ciphertext = age_file(identity, [(0, FIRST, False), (2, b"end", True)])
    assert released_before_failure(ciphertext, identity) == FIRST


def test_short_chunk_not_marked_last_is_refused(identity: Identity) -> None:
    assert released_before_failure(age_file(identity, [(0, b"short", False)]), identity) == b""


def test_chunk_after_the_last_one_is_refused(identity: Identity) -> None:
    ciphertext = age_file(identity, [(0, FIRST, True), (1, b"more", True)])
    assert released_before_failure(ciphertext, identity) == FIRST


def test_unknown_stanza_before_ours_is_skipped(identity: Identity) -> None:
    grease = Stanza("grease-7", ("a", "b~!"), os.urandom(50))
    ciphertext = age_file(identity, [(0, b"hello", True)], extra=[grease])
    assert decrypt(ciphertext, [identity.secret]) == b"hello"


def test_malformed_x25519_stanza_before_ours_fails_the_file(identity: Identity) -> None:
    # As in age: a broken stanza of a type we read is an error, not a mismatch.
    broken = Stanza("X25519", ("AAAA",), os.urandom(32))
    ciphertext = age_file(identity, [(0, b"hello", True)], extra=[broken])
    with pytest.raises(DecryptionError):
        decrypt(ciphertext, [identity.secret])


class CountingReader:
    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)
        self.sizes_asked: list[int] = []
        self.bytes_read = 0

    def read(self, size: int) -> bytes:
        self.sizes_asked.append(size)
        block = self._source.read(size)
        self.bytes_read += len(block)
        return block


class CountingWriter:
    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.sizes.append(len(data))
        self.data += data
        return len(data)


def test_oversized_header_is_refused_without_reading_on(identity: Identity) -> None:
    # Grease stanzas of 48-byte lines, far past the limit, and never a MAC line.
    line = b"A" * 64 + b"\n"
    hostile = b"age-encryption.org/v1\n-> grease\n" + line * (3 * MAX_HEADER_LENGTH // len(line))
    reader = CountingReader(hostile)
    with pytest.raises(DecryptionError):
        decrypt_stream(reader, io.BytesIO(), [identity.secret])
    assert reader.bytes_read < 2 * MAX_HEADER_LENGTH + 2 * MIB


def test_streams_read_and_write_in_blocks_of_about_a_mebibyte(identity: Identity) -> None:
    plaintext = os.urandom(8 * MIB + 5)
    source = CountingReader(plaintext)
    ciphertext = CountingWriter()
    encrypt_stream(source, ciphertext, [identity.recipient])
    # Header and nonce, eight full batches, the tail.
    assert len(ciphertext.sizes) == 10
    assert all(size >= MIB for size in source.sizes_asked[:-1])

    encrypted = CountingReader(bytes(ciphertext.data))
    decrypted = CountingWriter()
    decrypt_stream(encrypted, decrypted, [identity.secret])
    assert bytes(decrypted.data) == plaintext
    assert len(decrypted.sizes) == 9
    assert all(size == MIB for size in decrypted.sizes[:-1])
    assert len(encrypted.sizes_asked) <= 12


class DribblingReader:
    """Hands over a few hundred to a few thousand bytes per read, like a parser of a slow upload."""

    def __init__(self, data: bytes) -> None:
        self._source = io.BytesIO(data)
        self._sizes = random.Random(len(data))

    def read(self, size: int) -> bytes:
        return self._source.read(min(size, self._sizes.randint(1, 5000)))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 17 * CHUNK, 3 * MIB + 5])
def test_small_reads_are_gathered_into_whole_chunks(identity: Identity, size: int) -> None:
    plaintext = os.urandom(size)
    ciphertext = CountingWriter()
    encrypt_stream(DribblingReader(plaintext), ciphertext, [identity.recipient])
    assert decrypt(bytes(ciphertext.data), [identity.secret]) == plaintext
    # The header and nonce, then one write per 16 chunks, however small the reads.
    chunks = max(1, -(-size // CHUNK))
    assert len(ciphertext.sizes) == 1 + -(-chunks // 16)


def test_decrypted_pieces_are_pulled_one_mebibyte_at_a_time(identity: Identity) -> None:
    plaintext = os.urandom(3 * MIB + 1)
    pieces = decrypted_pieces(io.BytesIO(encrypt(plaintext, [identity.recipient])), [identity.secret])
    sizes = [len(piece) for piece in pieces]
    assert sizes == [MIB, MIB, MIB, 1]


def test_decrypted_pieces_check_their_arguments_before_any_read(identity: Identity) -> None:
    reader = CountingReader(b"")
    with pytest.raises(ValueError, match="at least one identity"):
        decrypted_pieces(reader, [])
    assert reader.sizes_asked == []
