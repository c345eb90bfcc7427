"""age identities and recipients: encoding matches age, secrets stay out of sight."""

import pyrage
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import (
    Identity,
    bech32,
    generate_identity,
    identity_from_bytes,
    identity_from_secret,
    is_valid_recipient,
)

# The identity of the age test vectors, and its recipient as `age-keygen -y` prints it.
VECTOR_SECRET = "AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0"
VECTOR_RECIPIENT = "age1xmwwc06ly3ee5rytxm9mflaz2u56jjj36s0mypdrwsvlul66mv4q47ryef"


def test_known_identity_gives_the_recipient_age_gives() -> None:
    assert identity_from_secret(VECTOR_SECRET).recipient == VECTOR_RECIPIENT


@given(st.binary(min_size=32, max_size=32))
def test_identity_from_bytes_encodes_as_age_does(raw: bytes) -> None:
    identity = identity_from_bytes(raw)
    reference = pyrage.x25519.Identity.from_str(identity.secret)
    assert identity.recipient == str(reference.to_public())
    assert identity_from_bytes(raw) == identity


def test_identity_generated_by_pyrage_parses_to_the_same_recipient() -> None:
    reference = pyrage.x25519.Identity.generate()
    assert identity_from_secret(str(reference)).recipient == str(reference.to_public())


def test_generated_identities_are_distinct_and_valid() -> None:
    first, second = generate_identity(), generate_identity()
    assert first != second
    assert is_valid_recipient(first.recipient)
    assert identity_from_secret(first.secret) == first


def test_repr_and_str_never_show_the_secret() -> None:
    identity = identity_from_secret(VECTOR_SECRET)
    assert VECTOR_SECRET not in repr(identity)
    assert VECTOR_SECRET not in str(identity)
    assert identity.recipient in repr(identity)


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "AGE-SECRET-KEY-1",
        VECTOR_SECRET.lower(),
        VECTOR_SECRET[:-1] + "Q",
        VECTOR_SECRET + "Q",
        "age1tgyuvdlmpejqsdf847hevurz9szk7vf3j7ytfyqecgzvphvu2d8qrtaxl9",
        "AGE-PLUGIN-FOO-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0",
    ],
    ids=["empty", "no data", "lower case", "bad checksum", "too long", "a recipient", "wrong prefix"],
)
def test_identity_from_secret_rejects_garbage_without_echoing_it(garbage: str) -> None:
    with pytest.raises(ValueError) as raised:
        identity_from_secret(garbage)
    assert not garbage or garbage not in str(raised.value)


def test_identity_from_bytes_needs_exactly_32_bytes() -> None:
    with pytest.raises(ValueError):
        identity_from_bytes(b"\x01" * 31)


def test_identity_rejects_a_recipient_that_is_not_its_own() -> None:
    with pytest.raises(ValueError, match="does not belong"):
        Identity(VECTOR_SECRET, generate_identity().recipient)


def test_is_valid_recipient() -> None:
    recipient = identity_from_secret(VECTOR_SECRET).recipient
    assert is_valid_recipient(recipient)
    assert not is_valid_recipient(recipient.upper())
    assert not is_valid_recipient(recipient[:-1] + ("q" if recipient[-1] != "q" else "p"))
    assert not is_valid_recipient(VECTOR_SECRET)
    assert not is_valid_recipient("age1")
    assert not is_valid_recipient("")


@pytest.mark.parametrize(
    "valid",
    [
        "A12UEL5L",
        "a12uel5l",
        "an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        "?1ezyfcl",
    ],
)
def test_bech32_accepts_bip173_valid_strings(valid: str) -> None:
    hrp, _ = bech32.decode(valid)
    assert hrp == valid.lower()[: valid.rfind("1")]


@pytest.mark.parametrize(
    "invalid",
    # BIP-173's invalid examples, and a12UEL5L, which mixes cases.
    [
        "\x201nwldj5",
        "\x7f1axkwrx",
        "pzry9x0s0muk",
        "1pzry9x0s0muk",
        "x1b4n0q5v",
        "li1dgmt3",
        "de1lg7wt\xff",
        "A1G7SGD8",
        "10a06t8",
        "1qzzfhee",
        "a12UEL5L",
    ],
)
def test_bech32_rejects_bip173_invalid_strings(invalid: str) -> None:
    with pytest.raises(ValueError):
        bech32.decode(invalid)


@given(st.binary(max_size=40))
def test_bech32_round_trips(data: bytes) -> None:
    assert bech32.decode(bech32.encode("test", data)) == ("test", data)
