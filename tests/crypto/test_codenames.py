"""Submitter codenames: generation, forgiving normalisation, strict checks, key derivation."""

import math
from importlib import resources

import pytest

from crypto import FAST_TEST_KDF, InvalidCodename, derive_codename_keys, generate_codename, normalise_codename
from crypto.codename import MIN_WORDS

SALT = b"instance-salt-0123456789abcdef"
KNOWN_LOOKUP_ID = "ca7453f85e2cc36b916cb4d3d2d2e39843127c56aa2d37083d35f448022051b7"
KNOWN_RECIPIENT = "age1cshxg7cywmq0uspavcreg7t60p6grsyqwkplg8h3lph3mdnprgms5j4xds"


def wordlist() -> list[str]:
    text = resources.files("crypto").joinpath("wordlists/eff_large_wordlist.txt").read_text("utf-8")
    return text.splitlines()


def test_wordlist_is_the_eff_large_list_without_hyphenated_words() -> None:
    words = wordlist()
    assert len(words) == len(set(words)) == 7776 - 4
    assert all(word.isascii() and word.isalpha() and word.islower() for word in words)
    assert {"abacus", "zoom"} <= set(words)


def test_default_codename_has_seven_words_and_about_90_bits() -> None:
    assert len(generate_codename().split()) == 7
    assert 7 * math.log2(len(wordlist())) > 90


def test_generated_codenames_are_valid_and_distinct() -> None:
    codenames = {generate_codename() for _ in range(50)}
    assert len(codenames) == 50
    for codename in codenames:
        assert normalise_codename(codename) == codename


def test_longer_codenames_can_be_generated_but_not_shorter_ones() -> None:
    assert len(generate_codename(words=9).split()) == 9
    with pytest.raises(ValueError):
        generate_codename(words=MIN_WORDS - 1)


def test_normalisation_forgives_case_spacing_hyphens_and_commas() -> None:
    canonical = normalise_codename("abacus yodel zippy quiver mango velvet zoom")
    for typed in [
        "  Abacus  YODEL zippy\tquiver\nmango velvet zoom ",
        "abacus-yodel-zippy-quiver-mango-velvet-zoom",
        "abacus, yodel, zippy, quiver, mango, velvet, zoom",
        "abacus \u2013 yodel \u2014 zippy quiver mango velvet zoom",
    ]:
        assert normalise_codename(typed) == canonical


def test_wrong_word_count() -> None:
    with pytest.raises(InvalidCodename, match="at least 7 words; this has 6"):
        normalise_codename("abacus yodel zippy quiver mango velvet")
    with pytest.raises(InvalidCodename, match="this has 0"):
        normalise_codename("  ,  ")


def test_unknown_word_is_named_by_position_not_echoed() -> None:
    with pytest.raises(InvalidCodename) as raised:
        normalise_codename("abacus yodel zippy quiver mango velvet zoomx")
    assert str(raised.value) == "Word 7 is not in the codename word list."
    assert isinstance(raised.value, ValueError)


def test_normalised_variants_derive_the_same_keys() -> None:
    codename = generate_codename()
    shouted = "  " + codename.upper().replace(" ", "   ") + "\n"
    assert derive_codename_keys(codename, SALT, FAST_TEST_KDF) == derive_codename_keys(
        shouted, SALT, FAST_TEST_KDF
    )


def test_different_salt_gives_different_keys() -> None:
    codename = generate_codename()
    first = derive_codename_keys(codename, SALT, FAST_TEST_KDF)
    second = derive_codename_keys(codename, SALT[::-1], FAST_TEST_KDF)
    assert first.lookup_id != second.lookup_id
    assert first.identity != second.identity


def test_different_codenames_give_different_keys() -> None:
    first = derive_codename_keys(generate_codename(), SALT, FAST_TEST_KDF)
    second = derive_codename_keys(generate_codename(), SALT, FAST_TEST_KDF)
    assert first.lookup_id != second.lookup_id
    assert first.identity != second.identity


def test_lookup_id_and_key_are_independent_hex_and_age_identity() -> None:
    keys = derive_codename_keys(generate_codename(), SALT, FAST_TEST_KDF)
    assert len(keys.lookup_id) == 64
    int(keys.lookup_id, 16)
    assert keys.identity.recipient.startswith("age1")
    assert keys.lookup_id not in keys.identity.secret


def test_derivation_known_answer() -> None:
    # Pinned: a silent change of derivation would lock every submitter out.
    keys = derive_codename_keys("abacus yodel zippy quiver mango velvet zoom", SALT, FAST_TEST_KDF)
    assert keys.lookup_id == KNOWN_LOOKUP_ID
    assert keys.identity.recipient == KNOWN_RECIPIENT


def test_invalid_codename_is_rejected_before_argon2() -> None:
    with pytest.raises(InvalidCodename):
        derive_codename_keys("not a codename", SALT, FAST_TEST_KDF)


def test_short_instance_salt_is_refused() -> None:
    with pytest.raises(ValueError):
        derive_codename_keys(generate_codename(), b"short", FAST_TEST_KDF)
