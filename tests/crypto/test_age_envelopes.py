"""age envelopes: round trips, misuse rejected, one error for every failure, caller I/O errors kept."""

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    Decrypter,
    DecryptionError,
    Identity,
    decrypt,
    decrypt_padded,
    decrypt_padded_with,
    decrypt_stream,
    decrypt_stream_padded,
    decrypted_pieces_padded,
    encrypt,
    encrypt_padded,
    encrypt_stream,
    encrypt_stream_padded,
    generate_identity,
)

CHUNK = 64 * 1024
HYPOTHESIS_IDENTITY = generate_identity()


@settings(deadline=None)
@given(st.binary(max_size=3 * CHUNK))
def test_encrypt_then_decrypt_returns_the_plaintext(plaintext: bytes) -> None:
    ciphertext = encrypt(plaintext, [HYPOTHESIS_IDENTITY.recipient])
    assert decrypt(ciphertext, [HYPOTHESIS_IDENTITY.secret]) == plaintext


@settings(deadline=None, max_examples=50)
@given(st.binary(max_size=3 * CHUNK))
def test_padded_envelopes_round_trip_in_memory_and_streaming(plaintext: bytes) -> None:
    recipients, identities = [HYPOTHESIS_IDENTITY.recipient], [HYPOTHESIS_IDENTITY.secret]
    assert decrypt_padded(encrypt_padded(plaintext, recipients), identities) == plaintext
    ciphertext, decrypted = io.BytesIO(), io.BytesIO()
    encrypt_stream_padded(io.BytesIO(plaintext), ciphertext, recipients)
    decrypt_stream_padded(io.BytesIO(ciphertext.getvalue()), decrypted, identities)
    assert decrypted.getvalue() == plaintext
    pulled = decrypted_pieces_padded(io.BytesIO(ciphertext.getvalue()), identities)
    assert b"".join(pulled) == plaintext


def test_each_of_several_recipients_can_decrypt(identity: Identity, other_identity: Identity) -> None:
    ciphertext = encrypt(b"case 42", [identity.recipient, other_identity.recipient])
    assert decrypt(ciphertext, [identity.secret]) == b"case 42"
    assert decrypt(ciphertext, [other_identity.secret]) == b"case 42"


def test_any_matching_identity_among_several_decrypts(identity: Identity, other_identity: Identity) -> None:
    ciphertext = encrypt(b"case 42", [identity.recipient])
    assert decrypt(ciphertext, [other_identity.secret, identity.secret]) == b"case 42"


def test_a_decrypter_parses_its_identities_once_and_opens_many(
    identity: Identity, other_identity: Identity
) -> None:
    decrypter = Decrypter([other_identity.secret, identity.secret])
    plaintexts = [b"", b"first", "второй".encode() * 1000]
    for plaintext in plaintexts:
        assert decrypter.decrypt(encrypt(plaintext, [identity.recipient])) == plaintext
        assert decrypt_padded_with(encrypt_padded(plaintext, [identity.recipient]), decrypter) == plaintext
    stranger = encrypt(b"not for these keys", [generate_identity().recipient])
    with pytest.raises(DecryptionError):
        decrypter.decrypt(stranger)
    # Still good for the next one after a failure.
    assert decrypter.decrypt(encrypt(b"after", [other_identity.recipient])) == b"after"
    with pytest.raises(TypeError):
        Decrypter(identity.secret)


def test_same_plaintext_encrypts_differently_each_time(identity: Identity) -> None:
    assert encrypt(b"x", [identity.recipient]) != encrypt(b"x", [identity.recipient])


def test_empty_recipient_list_is_rejected() -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        encrypt(b"x", [])
    with pytest.raises(ValueError, match="at least one recipient"):
        encrypt_stream(io.BytesIO(b"x"), io.BytesIO(), [])


def test_single_string_instead_of_a_list_is_rejected(identity: Identity) -> None:
    with pytest.raises(TypeError):
        encrypt(b"x", identity.recipient)
    with pytest.raises(TypeError):
        decrypt(b"x", identity.secret)


def test_malformed_recipient_is_a_value_error(identity: Identity) -> None:
    with pytest.raises(ValueError, match="not an age X25519 recipient"):
        encrypt(b"x", [identity.recipient, "age1notakey"])


def test_malformed_identity_is_a_value_error_that_does_not_echo_it(identity: Identity) -> None:
    almost_a_key = identity.secret[:-1] + ("Q" if identity.secret[-1] != "Q" else "P")
    ciphertext = encrypt(b"x", [identity.recipient])
    with pytest.raises(ValueError) as raised:
        decrypt(ciphertext, [almost_a_key])
    assert almost_a_key not in str(raised.value)
    assert raised.value.__cause__ is None


def test_empty_identity_list_is_rejected(identity: Identity) -> None:
    with pytest.raises(ValueError, match="at least one identity"):
        decrypt(encrypt(b"x", [identity.recipient]), [])


def test_decrypt_failures_all_look_the_same(identity: Identity, other_identity: Identity) -> None:
    ciphertext = encrypt(b"secret" * 20000, [identity.recipient])
    flipped_header = bytearray(ciphertext)
    flipped_header[40] ^= 1
    flipped_payload = bytearray(ciphertext)
    flipped_payload[-100] ^= 1
    failures = {
        "wrong key": (ciphertext, other_identity.secret),
        "truncated": (ciphertext[:-1], identity.secret),
        "truncated to header": (ciphertext[:200], identity.secret),
        "tampered header": (bytes(flipped_header), identity.secret),
        "tampered payload": (bytes(flipped_payload), identity.secret),
        "trailing garbage": (ciphertext + b"\x00", identity.secret),
        "not age": (b"hello, this is not age", identity.secret),
        "empty": (b"", identity.secret),
    }
    messages = set()
    for case, (data, secret) in failures.items():
        with pytest.raises(DecryptionError) as raised:
            decrypt(data, [secret])
        assert raised.value.__cause__ is None, case
        assert raised.value.__suppress_context__, case
        messages.add(str(raised.value))
    assert messages == {"decryption failed"}


def test_padded_decrypt_rejects_unpadded_plaintext(identity: Identity) -> None:
    with pytest.raises(DecryptionError):
        decrypt_padded(encrypt(b"no padding here", [identity.recipient]), [identity.secret])
    with pytest.raises(DecryptionError):
        decrypt_stream_padded(
            io.BytesIO(encrypt(b"no padding here", [identity.recipient])), io.BytesIO(), [identity.secret]
        )
    with pytest.raises(DecryptionError):
        b"".join(
            decrypted_pieces_padded(
                io.BytesIO(encrypt(b"no padding here", [identity.recipient])), [identity.secret]
            )
        )


def test_streaming_decrypt_releases_only_authenticated_chunks_before_failing(identity: Identity) -> None:
    # Given a two-chunk ciphertext whose last chunk was cut short
    plaintext = bytes(range(256)) * (CHUNK // 256) + b"tail"
    truncated = encrypt(plaintext, [identity.recipient])[:-3]
    released = io.BytesIO()
    # When it is streamed, the first, intact chunk is released, then it fails
    with pytest.raises(DecryptionError):
        decrypt_stream(io.BytesIO(truncated), released, [identity.secret])
    assert released.getvalue() == plaintext[:CHUNK]
    # while the in-memory call releases nothing
    with pytest.raises(DecryptionError):
        decrypt(truncated, [identity.secret])


class FailingReader:
    def read(self, size: int) -> bytes:
        raise OSError("disk gone")


class FailingWriter:
    def write(self, data: bytes) -> int:
        raise OSError("disk full")


class OneByteWriter:
    """Accepts one byte per call, like a raw non-blocking file."""

    def __init__(self) -> None:
        self.received = bytearray()

    def write(self, data: bytes) -> int:
        self.received += data[:1]
        return 1


class SilentWriter:
    """Returns None from write(), like many hand-written sinks."""

    def __init__(self) -> None:
        self.received = bytearray()

    def write(self, data: bytes) -> None:
        self.received += data


class OverReportingWriter:
    def write(self, data: bytes) -> int:
        return len(data) + 1


class GreedyReader:
    def read(self, size: int) -> bytes:
        return b"x" * (size + 1)


def test_writer_error_during_encryption_is_raised_not_swallowed(identity: Identity) -> None:
    with pytest.raises(OSError, match="disk full"):
        encrypt_stream(io.BytesIO(b"x"), FailingWriter(), [identity.recipient])
    with pytest.raises(OSError, match="disk full"):
        encrypt_stream(io.BytesIO(b"x" * 3 * CHUNK), FailingWriter(), [identity.recipient])


def test_reader_error_during_encryption_is_the_readers_own(identity: Identity) -> None:
    with pytest.raises(OSError, match="disk gone"):
        encrypt_stream(FailingReader(), io.BytesIO(), [identity.recipient])


def test_io_errors_during_decryption_are_not_mistaken_for_tampering(identity: Identity) -> None:
    ciphertext = encrypt(b"x" * 3 * CHUNK, [identity.recipient])
    with pytest.raises(OSError, match="disk gone"):
        decrypt_stream(FailingReader(), io.BytesIO(), [identity.secret])
    with pytest.raises(OSError, match="disk full"):
        decrypt_stream(io.BytesIO(ciphertext), FailingWriter(), [identity.secret])


def test_partial_and_silent_writers_receive_everything(identity: Identity) -> None:
    plaintext = b"y" * (CHUNK + 7)
    for writer in (OneByteWriter(), SilentWriter()):
        encrypt_stream(io.BytesIO(plaintext), writer, [identity.recipient])
        assert decrypt(bytes(writer.received), [identity.secret]) == plaintext


def test_misbehaving_streams_raise_clear_errors(identity: Identity) -> None:
    with pytest.raises(OSError, match="reported writing"):
        encrypt_stream(io.BytesIO(b"x"), OverReportingWriter(), [identity.recipient])
    with pytest.raises(ValueError, match="more bytes than were asked"):
        encrypt_stream(GreedyReader(), io.BytesIO(), [identity.recipient])
