"""Every string a submitter can see exists in Russian and Ukrainian.

Extracts the public catalogue from the code and templates exactly as
`make public-catalogue` does and compares it with the committed .po files,
so a new or reworded string without a translation fails here.
"""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog

from intake.questions import HELP_REQUEST_QUESTIONS
from tests.translations import ROOT, TRANSLATED_LANGUAGES, extract, load, placeholder_problems, untranslated

CATALOGUES = ROOT / "intake" / "translations"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return extract(ROOT / "babel-public.cfg", tmp_path_factory.mktemp("catalogue") / "public.pot")


def test_the_public_pages_have_strings_to_translate(extracted: Catalog) -> None:
    # Guards the guard: a broken extraction config would make the next test pass vacuously.
    assert len([message for message in extracted if message.id]) > 80


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_every_public_string_is_translated(extracted: Catalog, language: str) -> None:
    missing = untranslated(extracted, load(CATALOGUES, language))
    assert missing == [], f"untranslated in {language}: run `make public-catalogue` and translate"


@pytest.mark.parametrize("language", (*TRANSLATED_LANGUAGES, "en"))
def test_translations_keep_their_placeholders(language: str) -> None:
    assert placeholder_problems(load(CATALOGUES, language)) == []


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_plural_forms_match_the_language(language: str) -> None:
    catalogue = load(CATALOGUES, language)
    assert catalogue.num_plurals == 3
    for message in catalogue:
        if message.pluralizable:
            assert len(message.string) == 3 and all(message.string), message.id


def test_the_question_definitions_are_in_the_public_catalogue(extracted: Catalog) -> None:
    # intake/questions.py lives outside submit/, so the extraction config must name it.
    labels = [
        text._args[0]
        for question in HELP_REQUEST_QUESTIONS
        for text in (question.label, question.hint, *(choice.label for choice in question.choices))
        if text is not None
    ]
    assert labels
    assert [label for label in labels if label not in extracted] == []
