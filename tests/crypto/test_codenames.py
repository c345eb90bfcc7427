"""Submitter codenames: generation, forgiving normalisation, strict checks, key derivation."""

import math
from importlib import resources

import pytest

from crypto import (
    CODENAME_KDF,
    CURRENT_CODENAME_VERSION,
    FAST_TEST_KDF,
    CodenameVersion,
    InvalidCodename,
    derive_codename_keys,
    generate_codename,
    normalise_codename,
)
from crypto.codename import (
    ENGLISH,
    MIN_WORDS,
    RUSSIAN,
    UKRAINIAN,
    WORDLISTS,
    UnknownCodenameWord,
    closest_word,
    word_skeleton,
)

SALT = b"instance-salt-0123456789abcdef"
KNOWN_CODENAME = "abacus yodel zippy quiver mango velvet zoom"
# Version 1 labels at the test costs.
KNOWN_LOOKUP_ID = "ca7453f85e2cc36b916cb4d3d2d2e39843127c56aa2d37083d35f448022051b7"
KNOWN_RECIPIENT = "age1cshxg7cywmq0uspavcreg7t60p6grsyqwkplg8h3lph3mdnprgms5j4xds"
# Both versions at their production costs, computed by the code before version 2
# existed (version 1) and by hand from argon2-cffi and RFC 5869 (version 2).
KNOWN_V1_LOOKUP_ID = "4e66a829b0c579e9c39cc35df2fa8c648d565ea1275f1b698e2e8d6e04678d3a"
KNOWN_V1_RECIPIENT = "age166srn8fw854dlrjl9kx0nf2qla8qwk58n2uz3e578yz0y9twdg3qgd8frm"
KNOWN_V2_LOOKUP_ID = "c7fdfa27810df4e84b1cc76d9384a41409c2ee368241dccd5c16db6aecd155a2"
KNOWN_V2_RECIPIENT = "age1309a3gy4e2c69u02xm6dxd2rhw789swnhlr0g4rk09d30skluswsv24tvx"
CURRENT = CURRENT_CODENAME_VERSION


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
    assert derive_codename_keys(codename, SALT, CURRENT) == derive_codename_keys(
        shouted, SALT, CURRENT
    )


def test_different_salt_gives_different_keys() -> None:
    codename = generate_codename()
    first = derive_codename_keys(codename, SALT, CURRENT)
    second = derive_codename_keys(codename, SALT[::-1], CURRENT)
    assert first.lookup_id != second.lookup_id
    assert first.identity != second.identity


def test_different_codenames_give_different_keys() -> None:
    first = derive_codename_keys(generate_codename(), SALT, CURRENT)
    second = derive_codename_keys(generate_codename(), SALT, CURRENT)
    assert first.lookup_id != second.lookup_id
    assert first.identity != second.identity


def test_lookup_id_and_key_are_independent_hex_and_age_identity() -> None:
    keys = derive_codename_keys(generate_codename(), SALT, CURRENT)
    assert len(keys.lookup_id) == 64
    int(keys.lookup_id, 16)
    assert keys.identity.recipient.startswith("age1")
    assert keys.lookup_id not in keys.identity.secret


def test_codename_issued_before_the_russian_and_ukrainian_lists_still_derives_its_keys() -> None:
    # Given a codename made by the English-only code (the pinned known answer below),
    # when it is typed back in any case, with Cyrillic look-alike letters or hyphens,
    # then it derives the same keys.
    for typed in ["ABACUS YODEL ZIPPY QUIVER MANGO VELVET ZOOM", "аbасus-yоdеl zippy quivеr mаngо velvet zооm"]:
        keys = derive_codename_keys(typed, SALT, CodenameVersion.V1, FAST_TEST_KDF)
        assert keys.lookup_id == KNOWN_LOOKUP_ID
        assert keys.identity.recipient == KNOWN_RECIPIENT


def test_derivation_known_answer() -> None:
    # Pinned: a silent change of derivation would lock every submitter out.
    keys = derive_codename_keys(KNOWN_CODENAME, SALT, CodenameVersion.V1, FAST_TEST_KDF)
    assert keys.lookup_id == KNOWN_LOOKUP_ID
    assert keys.identity.recipient == KNOWN_RECIPIENT


def test_both_versions_known_answers_at_production_costs() -> None:
    # Codenames issued under version 1 are lookup ids under its 64 MiB costs for
    # as long as any such source remains; version 2's are pinned the same way.
    first = derive_codename_keys(KNOWN_CODENAME, SALT, CodenameVersion.V1)
    second = derive_codename_keys(KNOWN_CODENAME, SALT, CodenameVersion.V2)
    assert (first.lookup_id, first.identity.recipient, first.version) == (
        KNOWN_V1_LOOKUP_ID,
        KNOWN_V1_RECIPIENT,
        CodenameVersion.V1,
    )
    assert (second.lookup_id, second.identity.recipient, second.version) == (
        KNOWN_V2_LOOKUP_ID,
        KNOWN_V2_RECIPIENT,
        CodenameVersion.V2,
    )


def test_new_codenames_use_version_2_at_its_cheap_costs() -> None:
    assert CURRENT_CODENAME_VERSION is CodenameVersion.V2
    v2 = CODENAME_KDF[CodenameVersion.V2]
    assert (v2.time_cost, v2.memory_cost_kib, v2.parallelism) == (1, 2048, 1)
    v1 = CODENAME_KDF[CodenameVersion.V1]
    assert (v1.time_cost, v1.memory_cost_kib, v1.parallelism) == (3, 64 * 1024, 4)


def test_versions_never_share_a_lookup_id_or_a_key_even_at_equal_costs() -> None:
    codename = generate_codename()
    first = derive_codename_keys(codename, SALT, CodenameVersion.V1, FAST_TEST_KDF)
    second = derive_codename_keys(codename, SALT, CodenameVersion.V2, FAST_TEST_KDF)
    assert first.lookup_id != second.lookup_id
    assert first.identity != second.identity
    assert first.lookup_id not in second.identity.secret


def test_invalid_codename_is_rejected_before_argon2() -> None:
    with pytest.raises(InvalidCodename):
        derive_codename_keys("not a codename", SALT, CURRENT)


def test_short_instance_salt_is_refused() -> None:
    with pytest.raises(ValueError):
        derive_codename_keys(generate_codename(), b"short", CURRENT)


RUSSIAN_CODENAME = "пирог кошка рыба ёлка кот вода лампа земля"
UKRAINIAN_CODENAME = "виїзд вода лампа сонце пиво стіл вагон хліб"


def test_russian_and_ukrainian_lists_are_short_common_nouns_with_unique_beginnings() -> None:
    for wordlist, alphabet in [
        (RUSSIAN, set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")),
        (UKRAINIAN, set("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя")),
    ]:
        words = wordlist.words
        assert len(words) == len(set(words)) >= 2048
        assert all(3 <= len(word) <= 7 and set(word) <= alphabet for word in words)
        beginnings = [word_skeleton(word)[:4] for word in words]
        assert len(set(beginnings)) == len(words), "two words share their first four letters"
        three_letter = {word for word in beginnings if len(word) == 3}
        assert not [word for word in beginnings if len(word) == 4 and word[:3] in three_letter]
    assert {"кот", "рыба", "ёлка"} <= set(RUSSIAN.words)
    assert {"сонце", "хліб", "стіл"} <= set(UKRAINIAN.words)


def test_no_two_words_differ_only_by_yo_short_i_yi_or_look_alike_letters() -> None:
    # е/ё, и/й, і/ї and Latin look-alikes fold together: across all lists, a
    # folded spelling may stand for one word only.
    spellings: dict[str, str] = {}
    for wordlist in WORDLISTS:
        for word in wordlist.words:
            assert spellings.setdefault(word_skeleton(word), word) == word


def test_no_offensive_or_dangerous_words() -> None:
    words = set(RUSSIAN.words) | set(UKRAINIAN.words)
    for word in [
        *("сука", "дурак", "гнида", "война", "солдат", "взвод", "генштаб", "тюрьма", "смерть", "труп", "дезертир"),
        *("війна", "зброя", "піхота", "втікач", "гавно", "донбас", "вінниця", "відень", "окупант"),
    ]:
        assert word not in words


def test_every_list_gives_at_least_the_strength_of_the_first_codenames() -> None:
    first = 7 * math.log2(7772)
    for wordlist in WORDLISTS:
        assert wordlist.bits >= first
        codename = generate_codename(wordlist)
        assert len(codename.split()) == wordlist.words_per_codename
        assert wordlist.words_per_codename * math.log2(len(wordlist.words)) >= first
    assert ENGLISH.words_per_codename == 7
    assert RUSSIAN.words_per_codename == UKRAINIAN.words_per_codename == 8


def test_russian_and_ukrainian_codenames_are_valid_and_use_their_list() -> None:
    for wordlist in (RUSSIAN, UKRAINIAN):
        codename = generate_codename(wordlist)
        assert set(codename.split()) <= set(wordlist.words)
        assert normalise_codename(codename) == codename.replace("ё", "е")


def test_normalisation_folds_yo_case_and_latin_look_alikes() -> None:
    canonical = normalise_codename(RUSSIAN_CODENAME)
    assert canonical == "пирог кошка рыба елка кот вода лампа земля"
    for typed in [
        "ПИРОГ Кошка  рыба, елка кот-вода лампа земля",
        # Latin p, o, a, e, K, O, T typed for their Cyrillic twins.
        "пиpoг кошкa pыбa ёлкa KOT вoдa лaмпa зeмля",
    ]:
        assert normalise_codename(typed) == canonical
    assert normalise_codename("виізд вода лампа сонце пиво стiл BAГOH хлiб") == UKRAINIAN_CODENAME


def test_normalised_russian_variants_derive_the_same_keys() -> None:
    assert derive_codename_keys(RUSSIAN_CODENAME, SALT, CURRENT) == derive_codename_keys(
        "ПИРОГ кошкa pыбa елка кот вода лампа земля", SALT, CURRENT
    )


def test_a_typo_names_the_word_and_suggests_the_closest_one_from_the_same_list() -> None:
    with pytest.raises(UnknownCodenameWord) as raised:
        normalise_codename("пирог кошка рыба ёлка кот вода лампа земла")
    assert (raised.value.position, raised.value.typed, raised.value.suggestion) == (8, "земла", "земля")
    # The message itself stays safe to log: a position, not the word.
    assert str(raised.value) == "Word 8 is not in the codename word list."
    with pytest.raises(UnknownCodenameWord) as raised:
        normalise_codename("виїзд вода лампа сонце пиво стіл вагон хлеб")
    assert raised.value.suggestion == "хліб"
    with pytest.raises(UnknownCodenameWord) as raised:
        normalise_codename("abacus yodel zippy quiver mango velvet zoon")
    assert raised.value.suggestion == "zoom"


def test_any_unknown_word_gets_a_list_word_as_suggestion() -> None:
    # Long gibberish, digits and other scripts are compared only with a few words, never all of them.
    every_word = {word for wordlist in WORDLISTS for word in wordlist.words}
    for typed in ["ж" * 2000, "x" * 40, "12345", "ქართული", "котт"]:
        assert closest_word(typed, []) in every_word
    assert closest_word("котт", []) == "кот"
