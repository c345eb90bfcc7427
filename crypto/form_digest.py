"""A keyed digest of what a help-request form sent, so a resend can be told from a repeat.

key = HKDF-SHA256(the codename identity's secret, "intake/form-digest/v1/key");
digest = HMAC-SHA256(key, each part length-prefixed). The key comes from the
codename's derived secret, which is never stored, so a stored digest says
nothing to whoever holds the database: without the codename it cannot be
compared with another case's, nor tested against a guessed text.
"""

import hashlib
import hmac
from collections.abc import Sequence

from crypto.identity import Identity, identity_secret_bytes
from crypto.kdf import hkdf_sha256

DIGEST_LENGTH = 32
_KEY_INFO = b"intake/form-digest/v1/key"


def form_digest_key(identity: Identity) -> bytes:
    return hkdf_sha256(identity_secret_bytes(identity.secret), _KEY_INFO)


def form_digest(key: bytes, parts: Sequence[bytes]) -> bytes:
    """The digest of `parts` in order; the length prefixes keep ("ab", "c") apart from ("a", "bc")."""
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        mac.update(len(part).to_bytes(8, "big"))
        mac.update(part)
    return mac.digest()
