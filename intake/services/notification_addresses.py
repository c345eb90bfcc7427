"""Lawyers' push addresses at rest: sealed under a SECRET_KEY subkey, padded to one length.

The periodic notifier must read them unattended, so they cannot be under a
lawyer's passphrase. Under SECRET_KEY, a stolen database or backup alone
shows which kinds of channel a lawyer uses, never their number, topic or
room, and not even its length; whoever holds SECRET_KEY as well reads them
(docs/security.md). Each is bound to its lawyer and channel, so a sealed
address cannot be moved to another row.
"""

from __future__ import annotations

import uuid

from config.channels import MAX_ADDRESS_CHARS, ChannelKind
from crypto import derive_subkey, open_sealed, seal

SUBKEY_PURPOSE = "notify-address"
PADDED_BYTES = MAX_ADDRESS_CHARS + 1


def seal_address(secret_key: bytes, user_id: uuid.UUID, kind: ChannelKind, address: str) -> bytes:
    # Addresses are ASCII by their shapes (config.channels), so NUL never occurs in one.
    padded = address.encode("ascii").ljust(PADDED_BYTES, b"\0")
    return seal(padded, derive_subkey(secret_key, SUBKEY_PURPOSE), _context(user_id, kind))


def open_address(secret_key: bytes, user_id: uuid.UUID, kind: ChannelKind, sealed: bytes) -> str:
    """The address; crypto.DecryptionError if SECRET_KEY changed or the row was tampered with."""
    padded = open_sealed(sealed, derive_subkey(secret_key, SUBKEY_PURPOSE), _context(user_id, kind))
    return padded.rstrip(b"\0").decode("ascii")


def _context(user_id: uuid.UUID, kind: ChannelKind) -> bytes:
    return f"notify-address:{user_id}:{kind.value}".encode()
