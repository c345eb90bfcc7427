"""Secrets at rest under a passphrase: Argon2id, then ChaCha20-Poly1305.

Blob layout (version 1, integers big-endian):

    magic "INTAKE-KEYWRAP" (14) | version 0x01 (1)
    | time_cost u32 | memory_cost_kib u32 | parallelism u32
    | salt (16) | nonce (12) | ciphertext with Poly1305 tag (len(secret) + 16)

The AAD is every byte before the ciphertext followed by the caller's context,
so the costs, salt and version cannot be swapped, nor a blob moved to another
owner, without failing authentication.
"""

import secrets
import struct
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from crypto.errors import DecryptionError
from crypto.kdf import FAST_TEST_KDF, PRODUCTION_KDF, KdfParams, argon2id, derive_subkey
from crypto.sealing import new_session_key, open_sealed, seal

__all__ = [
    "FAST_TEST_KDF",
    "PRODUCTION_KDF",
    "KdfParams",
    "derive_subkey",
    "kdf_params_of",
    "new_session_key",
    "open_sealed",
    "seal",
    "unwrap_secret",
    "wrap_secret",
]

MAGIC = b"INTAKE-KEYWRAP"
VERSION = 1
SALT_LENGTH = 16
NONCE_LENGTH = 12
TAG_LENGTH = 16
_HEADER = struct.Struct(f">{len(MAGIC)}sBIII{SALT_LENGTH}s{NONCE_LENGTH}s")


def wrap_secret(secret: str, passphrase: str, context: bytes, params: KdfParams = PRODUCTION_KDF) -> bytes:
    """Encrypt `secret` under `passphrase`, bound to `context` (e.g. b"lawyer:<uuid>")."""
    if not secret:
        raise ValueError("secret must not be empty")
    if not passphrase:
        raise ValueError("passphrase must not be empty")
    if not context:
        raise ValueError("context must not be empty")
    salt = secrets.token_bytes(SALT_LENGTH)
    nonce = secrets.token_bytes(NONCE_LENGTH)
    header = _HEADER.pack(
        MAGIC, VERSION, params.time_cost, params.memory_cost_kib, params.parallelism, salt, nonce
    )
    key = argon2id(_passphrase_bytes(passphrase), salt, params)
    ciphertext = ChaCha20Poly1305(key).encrypt(nonce, secret.encode("utf-8"), header + context)
    return header + ciphertext


def unwrap_secret(blob: bytes, passphrase: str, context: bytes) -> str:
    """The wrapped secret; DecryptionError for a wrong passphrase or context, or a bad blob."""
    params, salt, nonce = _parse_header(blob)
    header, ciphertext = blob[: _HEADER.size], blob[_HEADER.size :]
    key = argon2id(_passphrase_bytes(passphrase), salt, params)
    try:
        plaintext = ChaCha20Poly1305(key).decrypt(nonce, ciphertext, header + context)
        return plaintext.decode("utf-8")
    except (InvalidTag, UnicodeDecodeError):
        raise DecryptionError from None


def kdf_params_of(blob: bytes) -> KdfParams:
    """The Argon2id costs a blob was wrapped with, to decide whether to re-wrap it."""
    params, _salt, _nonce = _parse_header(blob)
    return params


def _parse_header(blob: bytes) -> tuple[KdfParams, bytes, bytes]:
    # Non-empty secret: a blob of header and tag alone was not made by wrap_secret.
    if len(blob) <= _HEADER.size + TAG_LENGTH:
        raise DecryptionError
    magic, version, time_cost, memory_cost_kib, parallelism, salt, nonce = _HEADER.unpack_from(blob)
    if magic != MAGIC or version != VERSION:
        raise DecryptionError
    try:
        params = KdfParams(time_cost, memory_cost_kib, parallelism)
    except ValueError:
        raise DecryptionError from None
    return params, salt, nonce


def _passphrase_bytes(passphrase: str) -> bytes:
    # The same passphrase typed on two devices may arrive composed differently
    # ("é" as one code point or as "e" plus an accent); NFC makes them equal.
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")
