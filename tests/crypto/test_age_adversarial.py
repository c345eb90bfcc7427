"""Hostile age files against the shape check (crypto.age_header) and the decryptor (crypto.age_envelope).

The shape check runs on ciphertext a browser uploaded, before it is stored;
whatever it lets through is what lawyers will later try to open. So it must
never accept a file that every decryptor refuses for a reason visible
without a key, nor refuse one that decrypts.
"""

from __future__ import annotations

import io
import os
import secrets

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    DecryptionError,
    Identity,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_padded,
    generate_identity,
)
from crypto.age_envelope import MAX_HEADER_LENGTH
from crypto.age_format import Stanza, decode_base64, encode_base64, encode_header, header_end, parse_header
from crypto.age_header import (
    TAG_LENGTH,
    MalformedAgeFile,
    check_age_file,
    max_ciphertext_length,
    max_header_length,
    payload_plaintext_length,
)
from crypto.age_header import parse_header as parse_shape
from crypto.age_stream import payload_key
from crypto.age_x25519 import UnwrappingKey, unwrap_file_key, wrap_file_key
from crypto.identity import identity_secret_bytes, recipient_public_bytes
from crypto.padding import padded_length
from tests.crypto.test_age_stream import age_file

HYPOTHESIS_IDENTITY = generate_identity()
HYPOTHESIS_KEY = UnwrappingKey.from_secret(identity_secret_bytes(HYPOTHESIS_IDENTITY.secret))

P = 2**255 - 19
# The u-coordinates of the points of order 1, 2, 4 and 8 on Curve25519 and its
# twist, and the non-canonical encodings of some (u + p): X25519 with any key
# maps them to the all-zero secret, which the spec says MUST abort.
LOW_ORDER_U = [
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    P - 1,
    P,
    P + 1,
]


def with_first_share(ciphertext: bytes, share: bytes) -> bytes:
    opening_end = ciphertext.index(b"\n", len(b"age-encryption.org/v1\n"))
    opening = ciphertext[len(b"age-encryption.org/v1\n") : opening_end]
    return ciphertext.replace(opening, b"-> X25519 " + encode_base64(share), 1)


@pytest.mark.parametrize("u", LOW_ORDER_U, ids=["0", "1", "order-8", "order-8-twist", "p-1", "p", "p+1"])
def test_low_order_share_is_refused_without_a_key(identity: Identity, u: int) -> None:
    # A hostile submitter uploads a file no lawyer can ever open: the share
    # alone shows it, since X25519 of a low-order point is zero for every key.
    hostile = with_first_share(encrypt_padded(b"x", [identity.recipient]), u.to_bytes(32, "little"))
    with pytest.raises(DecryptionError):
        decrypt(hostile, [identity.secret])
    with pytest.raises(MalformedAgeFile, match="low-order"):
        check_age_file(hostile[: max_header_length(1)], len(hostile), 1)


# Bytes that turn one well-formed header into a near miss: line and word
# breaks, the prefixes, padding, a carriage return, base64 of both kinds.
NEAR_MISS_BYTES = st.sampled_from(list(b"\n \r->=A/+gz0\x00\xff"))
BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@st.composite
def mutated_headers(draw: st.DrawFn) -> tuple[bytes, int]:
    """A header of our shape with a few bytes replaced, inserted or deleted."""
    recipients = draw(st.integers(min_value=1, max_value=3))
    file_key = secrets.token_bytes(16)
    stanzas = [wrap_file_key(file_key, recipient_public_bytes(HYPOTHESIS_IDENTITY.recipient))]
    header = bytearray(encode_header(stanzas * recipients, file_key))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        position = draw(st.integers(min_value=0, max_value=len(header) - 1))
        kind = draw(st.sampled_from(["base64", "replace", "insert", "delete"]))
        if kind == "base64":
            # Mostly still canonical: the files that get past the shape check.
            header[position] = draw(st.sampled_from(list(BASE64_ALPHABET)))
        elif kind == "replace":
            header[position] = draw(NEAR_MISS_BYTES)
        elif kind == "insert":
            header.insert(position, draw(NEAR_MISS_BYTES))
        else:
            del header[position]
    return bytes(header), recipients


@settings(max_examples=1000, deadline=None)
@given(mutated_headers())
def test_what_the_shape_check_accepts_the_decryptor_parses_the_same_way(case: tuple[bytes, int]) -> None:
    # An upload whose header the two parsers cut at different places, or read
    # as different stanzas, would pass the check and then fail for the lawyers.
    header, recipients = case
    try:
        length, count = parse_shape(header + bytes(16), recipients)
    except MalformedAgeFile:
        return
    assert header_end(header + bytes(16)) == length
    parsed = parse_header(header[:length])
    assert len(parsed.stanzas) == count
    for stanza in parsed.stanzas:
        assert stanza.type == "X25519"
        assert len(stanza.arguments) == 1
        assert len(decode_base64(stanza.arguments[0].encode("ascii"))) == 32
        assert len(stanza.body) == 32
        # A stanza the shape check passes is never malformed to the decryptor:
        # it either opens or is simply not addressed to this key.
        unwrap_file_key(stanza, HYPOTHESIS_KEY)
    assert len(parsed.mac) == 32


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.sampled_from(list(BASE64_ALPHABET)))
def test_only_a_last_base64_character_with_zero_unused_bits_is_accepted(raw: bytes, last: int) -> None:
    # Unused low bits set would give one header several encodings, which the
    # spec says decoders MUST refuse (age's stanza_not_canonical vectors).
    text = encode_base64(raw)
    altered = text[:-1] + bytes([last])
    unused_bits = {0: 0, 1: 4, 2: 2}[len(raw) % 3]
    if BASE64_ALPHABET.index(last) & ((1 << unused_bits) - 1):
        with pytest.raises(DecryptionError):
            decode_base64(altered)
    else:
        assert encode_base64(decode_base64(altered)) == altered
    with pytest.raises(DecryptionError):
        decode_base64(text + b"=" * (-len(text) % 4 or 4))


CHUNK = 64 * 1024
FULL_CHUNK = os.urandom(CHUNK)
TAIL_SIZES = [0, 1, 1000, CHUNK - 1]


@st.composite
def chunk_layouts(draw: st.DrawFn) -> list[tuple[int, int, bool]]:
    """(counter, plaintext size, last flag) of full-size chunks, then maybe a shorter tail.

    Counters may skip ahead or repeat and any chunk may say it is the last.
    Only the tail may be short: a short chunk anywhere else would merge with
    the next one into a single chunk of a different size.
    """
    sizes = [CHUNK] * draw(st.integers(min_value=0, max_value=3))
    if draw(st.booleans()):
        sizes.append(draw(st.sampled_from(TAIL_SIZES)))
    return [
        (max(0, index + draw(st.sampled_from([0, 0, 0, 1, -1]))), size, draw(st.booleans()))
        for index, size in enumerate(sizes)
    ]


def spec_outcome(layout: list[tuple[int, int, bool]]) -> tuple[bool, int]:
    """Whether age-encryption.org/v1 accepts these chunks, and how many bytes a streaming decryptor releases.

    Chunk by chunk in order: a chunk is released once it authenticates; a
    wrong counter, a short chunk not marked last, an empty last chunk after
    others, a chunk after the last one, or no last chunk at all fails the file.
    """
    released = 0
    for index, (counter, size, last) in enumerate(layout):
        if counter != index or (index > 0 and size == 0) or (size < CHUNK and not last):
            return False, released
        released += size
        if last:
            return index == len(layout) - 1, released
    return False, released


@settings(max_examples=300, deadline=None)
@given(chunk_layouts())
def test_stream_chunk_rules_match_the_spec(layout: list[tuple[int, int, bool]]) -> None:
    ciphertext = age_file(
        HYPOTHESIS_IDENTITY, [(counter, FULL_CHUNK[:size], last) for counter, size, last in layout]
    )
    valid, released = spec_outcome(layout)
    written = io.BytesIO()
    if valid:
        decrypt_stream(io.BytesIO(ciphertext), written, [HYPOTHESIS_IDENTITY.secret])
    else:
        with pytest.raises(DecryptionError):
            decrypt_stream(io.BytesIO(ciphertext), written, [HYPOTHESIS_IDENTITY.secret])
    assert written.getvalue() == (FULL_CHUNK * 4)[:released]

    # The shape check sees only the length: it must never refuse a valid
    # payload, and what it refuses by length the decryptor must refuse too.
    header_length = header_end(ciphertext)
    assert header_length is not None
    try:
        plaintext_length = payload_plaintext_length(len(ciphertext) - header_length - 16)
    except MalformedAgeFile:
        assert not valid
        return
    if valid:
        assert plaintext_length == released


TAMPERED_PLAINTEXT = os.urandom(CHUNK + 100)
TAMPERED_FILE = encrypt(TAMPERED_PLAINTEXT, [HYPOTHESIS_IDENTITY.recipient])


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=len(TAMPERED_FILE) - 1), st.integers(min_value=1, max_value=255))
def test_changing_any_byte_fails_the_file(position: int, flip: int) -> None:
    # Header text, MAC, nonce, tags and ciphertext alike: age files are not
    # malleable without the file key, so no change may decrypt.
    tampered = bytearray(TAMPERED_FILE)
    tampered[position] ^= flip
    with pytest.raises(DecryptionError):
        decrypt(bytes(tampered), [HYPOTHESIS_IDENTITY.secret])


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=len(TAMPERED_FILE) - 1))
def test_a_file_cut_anywhere_fails_and_releases_only_whole_chunks(length: int) -> None:
    # A cut upload or a truncating attacker: never a shorter valid plaintext,
    # and what a stream releases first is whole authenticated chunks.
    written = io.BytesIO()
    with pytest.raises(DecryptionError):
        decrypt_stream(io.BytesIO(TAMPERED_FILE[:length]), written, [HYPOTHESIS_IDENTITY.secret])
    assert written.getvalue() in (b"", TAMPERED_PLAINTEXT[:CHUNK])


def test_trailing_bytes_after_the_last_chunk_fail_the_file() -> None:
    # Extension: anything appended to a complete file, even one more sealed-looking chunk.
    for extra in [b"\x00", os.urandom(16), TAMPERED_FILE[-116:]]:
        with pytest.raises(DecryptionError):
            decrypt(TAMPERED_FILE + extra, [HYPOTHESIS_IDENTITY.secret])


def file_with_header_of_length(length: int, identity: Identity) -> bytes:
    """A valid file for `identity` whose header is `length` bytes, a grease stanza filling it out."""
    file_key = secrets.token_bytes(16)
    ours = wrap_file_key(file_key, recipient_public_bytes(identity.recipient))
    # "-> grease " + argument + "\n" + an empty body line "\n".
    argument_length = length - len(encode_header([ours], file_key)) - len(b"-> grease \n\n")
    header = encode_header([Stanza("grease", ("x" * argument_length,), b""), ours], file_key)
    assert len(header) == length
    nonce = secrets.token_bytes(16)
    key = payload_key(file_key, nonce)
    return header + nonce + ChaCha20Poly1305(key).encrypt(bytes(11) + b"\x01", b"inside", None)


def test_header_limit_is_exact(identity: Identity) -> None:
    # The 1 MiB bound keeps a hostile header from growing the buffer without
    # end; a header of exactly that size is still a valid file and must open.
    at_limit = file_with_header_of_length(MAX_HEADER_LENGTH, identity)
    assert decrypt(at_limit, [identity.secret]) == b"inside"
    with pytest.raises(DecryptionError):
        decrypt(file_with_header_of_length(MAX_HEADER_LENGTH + 1, identity), [identity.secret])


HEADS = {
    recipients: encrypt_padded(b"", [generate_identity().recipient for _ in range(recipients)])[
        : max_header_length(recipients)
    ]
    for recipients in (1, 2, 3)
}


@settings(max_examples=500, deadline=None)
@given(st.integers(min_value=0, max_value=2**40), st.sampled_from([1, 2, 3]))
def test_every_length_a_padded_upload_can_have_is_accepted_and_its_neighbours_are_not(
    content_length: int, recipients: int
) -> None:
    # The shape check works from the declared length alone: refusing a real
    # size would lose a submission; accepting a neighbour would store a file
    # whose length leaks more than its padding bucket, or is cut or extended.
    padded = padded_length(content_length)
    total = max_header_length(recipients) + padded + TAG_LENGTH * max(1, -(-padded // CHUNK))
    assert total == max_ciphertext_length(content_length, recipients)
    shape = check_age_file(HEADS[recipients], total, recipients)
    assert shape.plaintext_length == padded
    assert shape.header_length == max_header_length(recipients) - 16
    for neighbour in (total - 1, total + 1):
        with pytest.raises(MalformedAgeFile):
            check_age_file(HEADS[recipients], neighbour, recipients)
