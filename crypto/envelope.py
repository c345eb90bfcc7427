"""What the app stores: padded plaintext in an age envelope.

Plain `age -d` on these ciphertexts yields the padded plaintext (the content,
then 0x80 and zeros); anything handed to people outside the app, such as an
export, should be decrypted with these functions and re-encrypted unpadded.
"""

from collections.abc import Iterator, Sequence

from crypto.age_envelope import Decrypter, decrypt, decrypt_stream, decrypted_pieces, encrypt, encrypt_stream
from crypto.padding import PaddingReader, UnpaddingWriter, pad, unpad
from crypto.streams import Reader, Writer


def encrypt_padded(plaintext: bytes, recipients: Sequence[str]) -> bytes:
    return encrypt(pad(plaintext), recipients)


def decrypt_padded(ciphertext: bytes, identities: Sequence[str]) -> bytes:
    return unpad(decrypt(ciphertext, identities))


def decrypt_padded_with(ciphertext: bytes, decrypter: Decrypter) -> bytes:
    """decrypt_padded with identities parsed once, for many small ciphertexts."""
    return unpad(decrypter.decrypt(ciphertext))


def encrypt_stream_padded(reader: Reader, writer: Writer, recipients: Sequence[str]) -> None:
    encrypt_stream(PaddingReader(reader), writer, recipients)


def decrypt_stream_padded(reader: Reader, writer: Writer, identities: Sequence[str]) -> None:
    """Like decrypt_stream, and likewise `writer` may hold a plaintext prefix when this raises."""
    unpadding = UnpaddingWriter(writer)
    decrypt_stream(reader, unpadding, identities)
    unpadding.finish()


def decrypted_pieces_padded(reader: Reader, identities: Sequence[str]) -> Iterator[bytes]:
    """Like decrypted_pieces, without the padding; pieces are about 1 MiB but vary a little.

    Raises DecryptionError while iterating if the plaintext does not end in
    padding, after the pieces before it: discard what came out when this raises.
    """
    return _unpadded(decrypted_pieces(reader, identities))


def _unpadded(pieces: Iterator[bytes]) -> Iterator[bytes]:
    released = _Collector()
    unpadding = UnpaddingWriter(released)
    for piece in pieces:
        unpadding.write(piece)
        yield from released.take()
    unpadding.finish()
    yield from released.take()


class _Collector:
    """A Writer that keeps what UnpaddingWriter releases until it is taken."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._pieces.append(data)
        return len(data)

    def take(self) -> list[bytes]:
        taken, self._pieces = self._pieces, []
        return taken
