"""Key fingerprints that two people can read aloud and compare.

fingerprint = the SHA-256 of "intake/fingerprint/v1" || 0x00 || the raw
32-byte X25519 public key, read as a big-endian integer, reduced modulo 10^40
and written as 8 groups of 5 decimal digits. That keeps 40 * log2(10) ≈ 132.9
bits (the modulo bias is below 2^-120), so forging a key with a given
fingerprint costs about 2^132 hashes. Comparing only some groups keeps about
16.6 bits per group.
"""

import hashlib

from crypto.identity import recipient_public_bytes

_LABEL = b"intake/fingerprint/v1\x00"
GROUPS = 8
DIGITS_PER_GROUP = 5


def fingerprint(recipient: str) -> str:
    """E.g. "01234 56789 …" (8 groups); ValueError if `recipient` is not an age1… key."""
    digest = hashlib.sha256(_LABEL + recipient_public_bytes(recipient)).digest()
    total_digits = GROUPS * DIGITS_PER_GROUP
    digits = str(int.from_bytes(digest, "big") % 10**total_digits).zfill(total_digits)
    return " ".join(
        digits[start : start + DIGITS_PER_GROUP] for start in range(0, total_digits, DIGITS_PER_GROUP)
    )
