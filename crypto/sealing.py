"""Data sealed under a raw 32-byte key (ChaCha20-Poly1305).

Used where a key is random rather than remembered: the server half of a
split-custody session (the identity sealed under a key that only the
browser's cookie holds) and TOTP seeds at rest (under a derive_subkey key).

Layout (version 1): magic "INTAKE-SEAL" (11) | version 0x01 (1) | nonce (12)
| ciphertext with Poly1305 tag. The AAD is magic, version and the caller's
context, so a sealed value cannot be replayed under another context.
"""

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.errors import DecryptionError

MAGIC = b"INTAKE-SEAL"
VERSION = 1
KEY_LENGTH = 32
NONCE_LENGTH = 12
TAG_LENGTH = 16
_PREFIX = MAGIC + bytes([VERSION])


def new_session_key() -> bytes:
    return secrets.token_bytes(KEY_LENGTH)


def seal(plaintext: bytes, key: bytes, context: bytes) -> bytes:
    if len(key) != KEY_LENGTH:
        raise ValueError(f"key must be {KEY_LENGTH} bytes")
    if not context:
        raise ValueError("context must not be empty")
    nonce = secrets.token_bytes(NONCE_LENGTH)
    return _PREFIX + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, _PREFIX + context)


def open_sealed(sealed: bytes, key: bytes, context: bytes) -> bytes:
    """The sealed plaintext; DecryptionError for a wrong key or context, or a bad blob."""
    # A wrong-length key is just a wrong key here: it may come from a mangled cookie.
    if len(key) != KEY_LENGTH or len(sealed) < len(_PREFIX) + NONCE_LENGTH + TAG_LENGTH:
        raise DecryptionError
    if not sealed.startswith(_PREFIX):
        raise DecryptionError
    nonce_end = len(_PREFIX) + NONCE_LENGTH
    nonce, ciphertext = sealed[len(_PREFIX) : nonce_end], sealed[nonce_end:]
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, ciphertext, _PREFIX + context)
    except InvalidTag:
        raise DecryptionError from None
