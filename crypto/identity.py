"""age X25519 identities (secret keys) and recipients (public keys), as text."""

import secrets
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from crypto import bech32

_SECRET_HRP = "age-secret-key-"  # noqa: S105 — the Bech32 label, not a key
_RECIPIENT_HRP = "age"
KEY_LENGTH = 32


@dataclass(frozen=True)
class Identity:
    """An age X25519 key pair: `secret` is `AGE-SECRET-KEY-1…`, `recipient` is `age1…`.

    Construction checks that the two belong together, so an Identity in hand
    is always usable; the secret is kept out of repr() so it cannot leak into
    logs or tracebacks by accident.
    """

    secret: str = field(repr=False)
    recipient: str

    def __post_init__(self) -> None:
        if _recipient_for(identity_secret_bytes(self.secret)) != self.recipient:
            raise ValueError("recipient does not belong to this identity")


def generate_identity() -> Identity:
    return identity_from_bytes(secrets.token_bytes(KEY_LENGTH))


def identity_from_secret(secret: str) -> Identity:
    """Parse an `AGE-SECRET-KEY-1…` string; ValueError (never echoing it) if it is not one."""
    return Identity(secret, _recipient_for(identity_secret_bytes(secret)))


def identity_from_bytes(raw32: bytes) -> Identity:
    """The identity whose X25519 secret is exactly `raw32`, as age encodes it."""
    if len(raw32) != KEY_LENGTH:
        raise ValueError(f"an X25519 secret is {KEY_LENGTH} bytes")
    secret = bech32.encode(_SECRET_HRP, raw32).upper()
    return Identity(secret, _recipient_for(raw32))


def is_valid_recipient(recipient: str) -> bool:
    try:
        recipient_public_bytes(recipient)
    except ValueError:
        return False
    return True


def identity_secret_bytes(secret: str) -> bytes:
    """The 32-byte X25519 secret behind an `AGE-SECRET-KEY-1…` string."""
    # age only ever writes and accepts the upper-case spelling of identities.
    if secret != secret.upper():
        raise ValueError("not an age X25519 identity")
    return _decode_key(secret, _SECRET_HRP, "not an age X25519 identity")


def recipient_public_bytes(recipient: str) -> bytes:
    """The 32-byte X25519 public key behind an `age1…` string."""
    # age only ever writes and accepts the lower-case spelling of recipients.
    if recipient != recipient.lower():
        raise ValueError("not an age X25519 recipient")
    return _decode_key(recipient, _RECIPIENT_HRP, "not an age X25519 recipient")


def _decode_key(text: str, expected_hrp: str, complaint: str) -> bytes:
    try:
        hrp, raw = bech32.decode(text)
    except ValueError:
        raise ValueError(complaint) from None
    if hrp != expected_hrp or len(raw) != KEY_LENGTH:
        raise ValueError(complaint)
    return raw


def _recipient_for(secret_bytes: bytes) -> str:
    public_key = X25519PrivateKey.from_private_bytes(secret_bytes).public_key()
    return bech32.encode(_RECIPIENT_HRP, public_key.public_bytes_raw())
