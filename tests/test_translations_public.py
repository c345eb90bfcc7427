"""Every string a submitter can see exists in Russian and Ukrainian.

Extracts the public catalogue from the code and templates exactly as
`make public-catalogue` does and compares it with the committed .po files,
so a new or reworded string without a translation fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "intake" / "translations"
TRANSLATED_LANGUAGES = ("ru", "uk")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("catalogue") / "public.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(ROOT / "babel-public.cfg"),
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def _load(language: str) -> Catalog:
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def test_the_public_pages_have_strings_to_translate(extracted: Catalog) -> None:
    # Guards the guard: a broken extraction config would make the next test pass vacuously.
    assert len([message for message in extracted if message.id]) > 80


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_every_public_string_is_translated(extracted: Catalog, language: str) -> None:
    catalogue = _load(language)
    untranslated = []
    for message in extracted:
        if not message.id:
            continue
        translated = catalogue.get(message.id)
        strings = (
            ()
            if translated is None
            else (translated.string if isinstance(translated.string, tuple) else (translated.string,))
        )
        if translated is None or translated.fuzzy or not strings or not all(strings):
            untranslated.append(message.id)
    assert untranslated == [], f"untranslated in {language}: run `make public-catalogue` and translate"


@pytest.mark.parametrize("language", (*TRANSLATED_LANGUAGES, "en"))
def test_translations_keep_their_placeholders(language: str) -> None:
    catalogue = _load(language)
    problems = [(message.id, [str(error) for error in errors]) for message, errors in catalogue.check()]
    assert problems == []


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_plural_forms_match_the_language(language: str) -> None:
    catalogue = _load(language)
    assert catalogue.num_plurals == 3
    for message in catalogue:
        if message.pluralizable:
            assert len(message.string) == 3 and all(message.string), message.id
