"""The recovery key as SLIP-39 shares: any threshold of them, and only those, rebuild it."""

import itertools

import pytest

from crypto import Identity, RecoveryShareError, combine_recovery_shares, split_recovery_key
from crypto.recovery import MAX_SHARES


@pytest.fixture
def shares(identity: Identity) -> list[str]:
    return split_recovery_key(identity.secret, threshold=3, count=5)


def test_every_threshold_subset_rebuilds_the_key(identity: Identity, shares: list[str]) -> None:
    for subset in itertools.combinations(shares, 3):
        assert combine_recovery_shares(list(subset)) == identity.secret


def test_more_than_threshold_shares_also_work(identity: Identity, shares: list[str]) -> None:
    assert combine_recovery_shares(shares) == identity.secret


def test_shares_are_33_word_slip39_mnemonics(shares: list[str]) -> None:
    assert len(shares) == 5
    assert all(len(share.split()) == 33 for share in shares)
    assert len(set(shares)) == 5


def test_case_and_spacing_of_typed_shares_do_not_matter(identity: Identity, shares: list[str]) -> None:
    retyped = ["  " + share.upper().replace(" ", "  ") + "\n" for share in shares[:3]]
    assert combine_recovery_shares(retyped) == identity.secret


def test_single_share_split(identity: Identity) -> None:
    [share] = split_recovery_key(identity.secret, threshold=1, count=1)
    assert combine_recovery_shares([share]) == identity.secret


def test_too_few_shares(shares: list[str]) -> None:
    with pytest.raises(RecoveryShareError, match="3 different shares are needed; 2 were given"):
        combine_recovery_shares(shares[:2])


def test_the_same_share_twice_counts_once(shares: list[str]) -> None:
    with pytest.raises(RecoveryShareError, match="3 different shares are needed; 2 were given"):
        combine_recovery_shares([shares[0], shares[0], shares[1]])


def test_shares_from_two_different_splits(identity: Identity, shares: list[str]) -> None:
    other_split = split_recovery_key(identity.secret, threshold=3, count=5)
    with pytest.raises(RecoveryShareError, match="different recovery splits"):
        combine_recovery_shares(shares[:2] + other_split[:1])


def test_corrupted_word_is_caught_and_located(shares: list[str]) -> None:
    words = shares[1].split()
    words[12] = "academic" if words[12] != "academic" else "acid"
    with pytest.raises(RecoveryShareError, match="Share 2 is not valid") as raised:
        combine_recovery_shares([shares[0], " ".join(words), shares[2]])
    assert " ".join(words) not in str(raised.value)


def test_misspelt_and_missing_words(shares: list[str]) -> None:
    misspelt = shares[0].replace(shares[0].split()[5], "notaslip39word", 1)
    missing = " ".join(shares[0].split()[:-1])
    for broken in (misspelt, missing):
        with pytest.raises(RecoveryShareError, match="Share 1 is not valid"):
            combine_recovery_shares([broken, *shares[1:3]])


def test_no_shares() -> None:
    with pytest.raises(RecoveryShareError):
        combine_recovery_shares([])


def test_a_single_string_is_not_a_list_of_shares(shares: list[str]) -> None:
    with pytest.raises(TypeError):
        combine_recovery_shares(shares[0])


@pytest.mark.parametrize(
    ("threshold", "count"),
    [(0, 1), (2, 1), (1, 2), (3, MAX_SHARES + 1), (MAX_SHARES + 1, MAX_SHARES + 1)],
    ids=["zero threshold", "threshold above count", "threshold 1 of many", "too many", "too high"],
)
def test_split_parameters_follow_slip39(identity: Identity, threshold: int, count: int) -> None:
    with pytest.raises(ValueError):
        split_recovery_key(identity.secret, threshold, count)


def test_split_refuses_something_that_is_not_an_identity() -> None:
    with pytest.raises(ValueError):
        split_recovery_key("AGE-SECRET-KEY-1NOTAKEY", 2, 3)
