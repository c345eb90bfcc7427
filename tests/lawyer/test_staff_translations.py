"""Every string on the lawyer and admin pages exists in Russian and Ukrainian.

Extracts the staff catalogue as intake/staff_translations/babel.cfg describes
and compares it with the committed .po files, so a new or reworded string
without a translation fails here.
"""

from __future__ import annotations

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from flask.testing import FlaskClient

from tests.translations import ROOT, TRANSLATED_LANGUAGES, extract, load, placeholder_problems, untranslated

CATALOGUES = ROOT / "intake" / "staff_translations"


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    return extract(CATALOGUES / "babel.cfg", tmp_path_factory.mktemp("catalogue") / "staff.pot")


def test_the_staff_pages_have_strings_to_translate(extracted: Catalog) -> None:
    # Guards the guard: a broken extraction config would make the next test pass vacuously.
    assert len([message for message in extracted if message.id]) > 100


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_every_staff_string_is_translated(extracted: Catalog, language: str) -> None:
    assert untranslated(extracted, load(CATALOGUES, language)) == []


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_staff_translations_keep_their_placeholders(language: str) -> None:
    assert placeholder_problems(load(CATALOGUES, language)) == []


@pytest.mark.parametrize(
    ("language", "heading"), [("ru", "Вход для сотрудников"), ("uk", "Вхід для співробітників")]
)
def test_the_login_page_speaks_the_chosen_language(client: FlaskClient, language: str, heading: str) -> None:
    assert heading in client.get(f"/lawyer/login?lang={language}").get_data(as_text=True)


def test_the_shared_staff_code_is_in_the_staff_catalogue(extracted: Catalog) -> None:
    # intake/staff/ (forms, enrolment) sits beside the blueprints, so the extraction config must name it.
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
    found = [
        message[0] if isinstance(message, tuple) else message
        for path in sorted((ROOT / "intake" / "staff").rglob("*.py"))
        for _line, message, _comments, _context in extract_from_file("python", str(path), keywords=keywords)
    ]
    assert len(found) > 20
    assert [message for message in found if message not in extracted] == []
