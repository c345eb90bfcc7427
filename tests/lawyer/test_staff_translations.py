"""Every string on the lawyer and admin pages exists in Russian and Ukrainian.

Extracts the staff catalogue as intake/staff_translations/babel.cfg describes
and compares it with the committed .po files, so a new or reworded string
without a translation fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "intake" / "staff_translations"
TRANSLATED_LANGUAGES = ("ru", "uk")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    pot = tmp_path_factory.mktemp("catalogue") / "staff.pot"
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(CATALOGUES / "babel.cfg"),
            "-k",
            "lazy_gettext",
            "-k",
            "_l",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def test_the_staff_pages_have_strings_to_translate(extracted: Catalog) -> None:
    # Guards the guard: a broken extraction config would make the next test pass vacuously.
    assert len([message for message in extracted if message.id]) > 100


@pytest.mark.parametrize("language", TRANSLATED_LANGUAGES)
def test_every_staff_string_is_translated(extracted: Catalog, language: str) -> None:
    with (CATALOGUES / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle, locale=language)
    untranslated = [
        message.id
        for message in extracted
        if message.id
        and (
            (translated := catalogue.get(message.id)) is None
            or not all(translated.string if isinstance(translated.string, tuple) else [translated.string])
        )
    ]
    assert untranslated == []


@pytest.mark.parametrize(
    ("language", "heading"), [("ru", "Вход для сотрудников"), ("uk", "Вхід для співробітників")]
)
def test_the_login_page_speaks_the_chosen_language(client: FlaskClient, language: str, heading: str) -> None:
    assert heading in client.get(f"/lawyer/login?lang={language}").get_data(as_text=True)
