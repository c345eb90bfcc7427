"""What the app stores: padded plaintext in an age envelope.

Plain `age -d` on these ciphertexts yields the padded plaintext (the content,
then 0x80 and zeros); anything handed to people outside the app, such as an
export, should be decrypted with these functions and re-encrypted unpadded.
"""

from collections.abc import Sequence

from crypto.age_envelope import decrypt, decrypt_stream, encrypt, encrypt_stream
from crypto.padding import PaddingReader, UnpaddingWriter, pad, unpad
from crypto.streams import Reader, Writer


def encrypt_padded(plaintext: bytes, recipients: Sequence[str]) -> bytes:
    return encrypt(pad(plaintext), recipients)


def decrypt_padded(ciphertext: bytes, identities: Sequence[str]) -> bytes:
    return unpad(decrypt(ciphertext, identities))


def encrypt_stream_padded(reader: Reader, writer: Writer, recipients: Sequence[str]) -> None:
    encrypt_stream(PaddingReader(reader), writer, recipients)


def decrypt_stream_padded(reader: Reader, writer: Writer, identities: Sequence[str]) -> None:
    """Like decrypt_stream, and likewise `writer` may hold a plaintext prefix when this raises."""
    unpadding = UnpaddingWriter(writer)
    decrypt_stream(reader, unpadding, identities)
    unpadding.finish()
