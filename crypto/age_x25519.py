"""The age X25519 recipient type: the file key wrapped to a public key, one stanza per recipient."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.age_format import Stanza, decode_base64, encode_base64
from crypto.errors import DecryptionError
from crypto.identity import KEY_LENGTH

STANZA_TYPE = "X25519"
_LABEL = b"age-encryption.org/v1/X25519"
FILE_KEY_LENGTH = 16
_TAG_LENGTH = 16
# Each wrapping key is used once, so the spec fixes the nonce at zero.
_ZERO_NONCE = bytes(12)


@dataclass(frozen=True)
class UnwrappingKey:
    """An identity ready to unwrap: the private key and its public key, which the KDF salt needs."""

    private_key: X25519PrivateKey
    public_bytes: bytes

    @classmethod
    def from_secret(cls, secret32: bytes) -> UnwrappingKey:
        private_key = X25519PrivateKey.from_private_bytes(secret32)
        return cls(private_key, private_key.public_key().public_bytes_raw())


def wrap_file_key(file_key: bytes, recipient_public: bytes) -> Stanza:
    ephemeral = X25519PrivateKey.generate()
    share = ephemeral.public_key().public_bytes_raw()
    shared_secret = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    wrapping_key = _wrapping_key(shared_secret, share, recipient_public)
    body = ChaCha20Poly1305(wrapping_key).encrypt(_ZERO_NONCE, file_key, None)
    return Stanza(STANZA_TYPE, (encode_base64(share).decode("ascii"),), body)


def unwrap_file_key(stanza: Stanza, key: UnwrappingKey) -> bytes | None:
    """The file key if the stanza was made for `key`; None if it was not (or is of another type).

    A malformed X25519 stanza is a DecryptionError, as in age, rather than
    one that merely does not match.
    """
    if stanza.type != STANZA_TYPE:
        return None
    if len(stanza.arguments) != 1:
        raise DecryptionError from None
    share = decode_base64(stanza.arguments[0].encode("ascii"))
    # A fixed body size keeps one body from being made to open under several keys.
    if len(share) != KEY_LENGTH or len(stanza.body) != FILE_KEY_LENGTH + _TAG_LENGTH:
        raise DecryptionError from None
    try:
        shared_secret = key.private_key.exchange(X25519PublicKey.from_public_bytes(share))
    except ValueError:
        # A low-order share makes the all-zero shared secret, which age refuses.
        raise DecryptionError from None
    wrapping_key = _wrapping_key(shared_secret, share, key.public_bytes)
    try:
        return ChaCha20Poly1305(wrapping_key).decrypt(_ZERO_NONCE, stanza.body, None)
    except InvalidTag:
        return None


def _wrapping_key(shared_secret: bytes, share: bytes, recipient_public: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=share + recipient_public, info=_LABEL).derive(
        shared_secret
    )
