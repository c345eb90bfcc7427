"""Checks shared by the public and staff catalogue tests."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED_LANGUAGES = ("ru", "uk")


def extract(extraction_config: Path, pot: Path) -> Catalog:
    """The strings in code and templates, as `pybabel extract` with this config finds them."""
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(extraction_config), "-k", "lazy_gettext", "-k", "_l"]
        + ["-o", str(pot), str(ROOT)]
    )
    with pot.open("rb") as handle:
        return read_po(handle)


def load(catalogue_dir: Path, language: str) -> Catalog:
    with (catalogue_dir / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=language)


def untranslated(extracted: Catalog, catalogue: Catalog) -> list[str]:
    """Every extracted string missing from `catalogue`, fuzzy there, or translated as empty."""
    missing = []
    for message in extracted:
        if not message.id:
            continue
        translated = catalogue.get(message.id)
        if translated is None or translated.fuzzy:
            missing.append(str(message.id))
            continue
        strings = translated.string if isinstance(translated.string, tuple) else (translated.string,)
        if not strings or not all(strings):
            missing.append(str(message.id))
    return missing


def placeholder_problems(catalogue: Catalog) -> list[tuple[str, list[str]]]:
    """Translations whose %(name)s placeholders do not match their msgid's."""
    return [(str(message.id), [str(error) for error in errors]) for message, errors in catalogue.check()]
