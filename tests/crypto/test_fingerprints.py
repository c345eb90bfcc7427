"""Key fingerprints for reading aloud: stable, distinct, 8 groups of 5 digits."""

import hashlib
import re

import pytest

from crypto import fingerprint, generate_identity
from crypto.identity import recipient_public_bytes

# The recipient of the age test vectors' identity.
VECTOR_RECIPIENT = "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"


def test_format_is_eight_groups_of_five_digits() -> None:
    assert re.fullmatch(r"\d{5}( \d{5}){7}", fingerprint(generate_identity().recipient))


def test_known_answer_matches_the_documented_construction() -> None:
    digest = hashlib.sha256(b"intake/fingerprint/v1\x00" + recipient_public_bytes(VECTOR_RECIPIENT)).digest()
    digits = f"{int.from_bytes(digest, 'big') % 10**40:040d}"
    expected = " ".join(digits[i : i + 5] for i in range(0, 40, 5))
    assert fingerprint(VECTOR_RECIPIENT) == expected


def test_same_key_same_fingerprint_different_keys_differ() -> None:
    recipient = generate_identity().recipient
    assert fingerprint(recipient) == fingerprint(recipient)
    fingerprints = {fingerprint(generate_identity().recipient) for _ in range(100)}
    assert len(fingerprints) == 100


def test_not_a_recipient() -> None:
    with pytest.raises(ValueError):
        fingerprint("age1notakey")
