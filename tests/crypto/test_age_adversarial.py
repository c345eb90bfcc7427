"""Hostile age files against the shape check (crypto.age_header) and the decryptor (crypto.age_envelope).

The shape check runs on ciphertext a browser uploaded, before it is stored;
whatever it lets through is what lawyers will later try to open. So it must
never accept a file that every decryptor refuses for a reason visible
without a key, nor refuse one that decrypts.
"""

from __future__ import annotations

import pytest

from crypto import DecryptionError, Identity, decrypt, encrypt_padded
from crypto.age_format import encode_base64
from crypto.age_header import MalformedAgeFile, check_age_file, max_header_length

P = 2**255 - 19
# The u-coordinates of the points of order 1, 2, 4 and 8 on Curve25519 and its
# twist, and the non-canonical encodings of some (u + p): X25519 with any key
# maps them to the all-zero secret, which the spec says MUST abort.
LOW_ORDER_U = [
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    P - 1,
    P,
    P + 1,
]


def with_first_share(ciphertext: bytes, share: bytes) -> bytes:
    opening_end = ciphertext.index(b"\n", len(b"age-encryption.org/v1\n"))
    opening = ciphertext[len(b"age-encryption.org/v1\n") : opening_end]
    return ciphertext.replace(opening, b"-> X25519 " + encode_base64(share), 1)


@pytest.mark.parametrize("u", LOW_ORDER_U, ids=["0", "1", "order-8", "order-8-twist", "p-1", "p", "p+1"])
def test_low_order_share_is_refused_without_a_key(identity: Identity, u: int) -> None:
    # A hostile submitter uploads a file no lawyer can ever open: the share
    # alone shows it, since X25519 of a low-order point is zero for every key.
    hostile = with_first_share(encrypt_padded(b"x", [identity.recipient]), u.to_bytes(32, "little"))
    with pytest.raises(DecryptionError):
        decrypt(hostile, [identity.secret])
    with pytest.raises(MalformedAgeFile, match="low-order"):
        check_age_file(hostile[: max_header_length(1)], len(hostile), 1)
