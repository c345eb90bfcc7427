"""Passphrase key wrapping: round trips, named failures, and the production costs."""

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto import (
    FAST_TEST_KDF,
    PRODUCTION_KDF,
    DecryptionError,
    KdfParams,
    kdf_params_of,
    keywrap,
    unwrap_secret,
    wrap_secret,
)

SECRET = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
PASSPHRASE = "correct horse battery staple"
CONTEXT = b"lawyer:5f0c7a2e-1d3b-4c55-9a8e-2b7f1e0c9d11"
PARAMS_OFFSET = len(keywrap.MAGIC) + 1


@pytest.fixture
def blob() -> bytes:
    return wrap_secret(SECRET, PASSPHRASE, CONTEXT, FAST_TEST_KDF)


def with_params(blob: bytes, time_cost: int, memory_cost_kib: int, parallelism: int) -> bytes:
    params = struct.pack(">III", time_cost, memory_cost_kib, parallelism)
    return blob[:PARAMS_OFFSET] + params + blob[PARAMS_OFFSET + len(params) :]


@settings(deadline=None, max_examples=50)
@given(
    secret=st.text(min_size=1, max_size=200),
    passphrase=st.text(min_size=1, max_size=100),
    context=st.binary(min_size=1, max_size=64),
)
def test_wrap_then_unwrap_returns_the_secret(secret: str, passphrase: str, context: bytes) -> None:
    assert (
        unwrap_secret(wrap_secret(secret, passphrase, context, FAST_TEST_KDF), passphrase, context) == secret
    )


def test_production_costs_are_at_least_rfc9106_second_recommendation() -> None:
    assert PRODUCTION_KDF.time_cost >= 3
    assert PRODUCTION_KDF.memory_cost_kib >= 64 * 1024
    assert PRODUCTION_KDF.parallelism >= 4


def test_wrap_by_default_stores_and_uses_production_costs() -> None:
    # The one real production Argon2 run in the suite.
    blob = wrap_secret(SECRET, PASSPHRASE, CONTEXT)
    assert kdf_params_of(blob) == PRODUCTION_KDF
    assert unwrap_secret(blob, PASSPHRASE, CONTEXT) == SECRET


def test_stored_costs_are_readable_for_rewrap_decisions(blob: bytes) -> None:
    assert kdf_params_of(blob) == FAST_TEST_KDF


def test_same_secret_wraps_differently_each_time() -> None:
    assert wrap_secret(SECRET, PASSPHRASE, CONTEXT, FAST_TEST_KDF) != wrap_secret(
        SECRET, PASSPHRASE, CONTEXT, FAST_TEST_KDF
    )


def test_passphrase_unicode_composition_does_not_matter() -> None:
    composed, decomposed = "caf\u00e9 passphrase", "cafe\u0301 passphrase"
    blob = wrap_secret(SECRET, composed, CONTEXT, FAST_TEST_KDF)
    assert unwrap_secret(blob, decomposed, CONTEXT) == SECRET


def test_wrong_passphrase(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        unwrap_secret(blob, PASSPHRASE + "!", CONTEXT)


def test_altered_context(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        unwrap_secret(blob, PASSPHRASE, CONTEXT[:-1] + b"2")


def test_truncated_blob(blob: bytes) -> None:
    for length in (0, len(keywrap.MAGIC), PARAMS_OFFSET + 12, len(blob) - 1):
        with pytest.raises(DecryptionError):
            unwrap_secret(blob[:length], PASSPHRASE, CONTEXT)


def test_flipped_bit_anywhere(blob: bytes) -> None:
    for index in range(len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptionError):
            unwrap_secret(bytes(tampered), PASSPHRASE, CONTEXT)


def test_unknown_version(blob: bytes) -> None:
    version_2 = blob[: len(keywrap.MAGIC)] + b"\x02" + blob[PARAMS_OFFSET:]
    with pytest.raises(DecryptionError):
        unwrap_secret(version_2, PASSPHRASE, CONTEXT)
    with pytest.raises(DecryptionError):
        kdf_params_of(version_2)


def test_wrong_magic(blob: bytes) -> None:
    with pytest.raises(DecryptionError):
        unwrap_secret(b"X" + blob[1:], PASSPHRASE, CONTEXT)


@pytest.mark.parametrize(
    ("time_cost", "memory_cost_kib", "parallelism"),
    [(10_000, 8, 1), (1, 2**32 - 1, 1), (1, 8 * 255, 255), (0, 8, 1), (1, 4, 1), (1, 8, 0)],
    ids=["huge time", "huge memory", "huge parallelism", "zero time", "below argon2 minimum", "zero lanes"],
)
def test_absurd_params_are_refused_before_argon2_runs(
    blob: bytes, time_cost: int, memory_cost_kib: int, parallelism: int
) -> None:
    tampered = with_params(blob, time_cost, memory_cost_kib, parallelism)
    with pytest.raises(DecryptionError):
        kdf_params_of(tampered)
    with pytest.raises(DecryptionError):
        unwrap_secret(tampered, PASSPHRASE, CONTEXT)


def test_lowered_params_fail_authentication() -> None:
    blob = wrap_secret(SECRET, PASSPHRASE, CONTEXT, KdfParams(2, 16, 1))
    with pytest.raises(DecryptionError):
        unwrap_secret(with_params(blob, 1, 16, 1), PASSPHRASE, CONTEXT)


def test_error_message_does_not_say_which_check_failed(blob: bytes) -> None:
    messages = set()
    for bad_blob, passphrase, context in [
        (blob, "wrong", CONTEXT),
        (blob, PASSPHRASE, b"lawyer:other"),
        (blob[:-1], PASSPHRASE, CONTEXT),
        (with_params(blob, 10_000, 8, 1), PASSPHRASE, CONTEXT),
    ]:
        with pytest.raises(DecryptionError) as raised:
            unwrap_secret(bad_blob, passphrase, context)
        messages.add(str(raised.value))
    assert messages == {"decryption failed"}


def test_wrapping_refuses_empty_inputs_and_absurd_params() -> None:
    with pytest.raises(ValueError):
        wrap_secret(SECRET, "", CONTEXT, FAST_TEST_KDF)
    with pytest.raises(ValueError):
        wrap_secret(SECRET, PASSPHRASE, b"", FAST_TEST_KDF)
    with pytest.raises(ValueError):
        wrap_secret("", PASSPHRASE, CONTEXT, FAST_TEST_KDF)
    with pytest.raises(ValueError):
        KdfParams(time_cost=1, memory_cost_kib=2**30, parallelism=1)
