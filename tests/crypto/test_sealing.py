"""Raw-key sealing (split-custody sessions, TOTP at rest) and subkey derivation."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import DecryptionError, derive_subkey, new_session_key, open_sealed, seal

CONTEXT = b"session:7d3c"
# HKDF-SHA256(ikm=00..1f, salt=none, info="intake/subkey/v1/totp"): the label
# intake.services.totp seals seeds under (tests/lawyer/test_login.py checks the app uses it).
KNOWN_TOTP_SUBKEY = "103079ec0605a381f4ae1d75f4248633b6ac2c5454e2fb26490383658a1f04a3"


@given(plaintext=st.binary(max_size=500), context=st.binary(min_size=1, max_size=64))
def test_seal_then_open_returns_the_plaintext(plaintext: bytes, context: bytes) -> None:
    key = new_session_key()
    assert open_sealed(seal(plaintext, key, context), key, context) == plaintext


def test_wrong_key() -> None:
    sealed = seal(b"identity", new_session_key(), CONTEXT)
    with pytest.raises(DecryptionError):
        open_sealed(sealed, new_session_key(), CONTEXT)


def test_wrong_context() -> None:
    key = new_session_key()
    with pytest.raises(DecryptionError):
        open_sealed(seal(b"identity", key, CONTEXT), key, b"session:other")


def test_wrong_length_key_is_just_a_wrong_key() -> None:
    key = new_session_key()
    with pytest.raises(DecryptionError):
        open_sealed(seal(b"identity", key, CONTEXT), key[:16], CONTEXT)


def test_tampered_truncated_or_foreign_data() -> None:
    key = new_session_key()
    sealed = seal(b"identity", key, CONTEXT)
    candidates = [sealed[:-1], sealed[:20], b"", b"INTAKE-SEAL\x02" + sealed[12:]]
    for index in range(len(sealed)):
        flipped = bytearray(sealed)
        flipped[index] ^= 0x80
        candidates.append(bytes(flipped))
    for candidate in candidates:
        with pytest.raises(DecryptionError):
            open_sealed(candidate, key, CONTEXT)


def test_sealing_refuses_a_short_key() -> None:
    with pytest.raises(ValueError):
        seal(b"x", b"\x00" * 16, CONTEXT)


def test_session_keys_are_32_random_bytes() -> None:
    assert len(new_session_key()) == 32
    assert new_session_key() != new_session_key()


def test_subkeys_are_deterministic_and_separated_by_purpose() -> None:
    master = bytes(range(32))
    assert derive_subkey(master, "totp-at-rest") == derive_subkey(master, "totp-at-rest")
    assert derive_subkey(master, "totp-at-rest") != derive_subkey(master, "audit")
    assert derive_subkey(master, "totp-at-rest") != derive_subkey(bytes(range(1, 33)), "totp-at-rest")
    assert len(derive_subkey(master, "audit")) == 32


def test_subkey_known_answer() -> None:
    # Pinned so a change of derivation (which would strand every sealed TOTP seed) cannot slip in.
    assert derive_subkey(bytes(range(32)), "totp").hex() == KNOWN_TOTP_SUBKEY


def test_subkey_needs_a_strong_master_and_a_purpose() -> None:
    with pytest.raises(ValueError):
        derive_subkey(b"short", "audit")
    with pytest.raises(ValueError):
        derive_subkey(bytes(32), "")
