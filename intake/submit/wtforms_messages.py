"""WTForms' own messages ("Not a valid choice.") in the page's language, each catalogue read once.

Flask-WTF reads WTForms' catalogue from disk again in every request that
builds a form (flask_wtf.i18n: a search for the file and a parse of it,
about 2 % of a worker's CPU under bench/submit_bench.py). The catalogues
ship with WTForms and do not change while the process runs, and there is
one per language the site speaks.
"""

from __future__ import annotations

import functools
from typing import Any

from babel import support
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path


@functools.cache
def _catalogue(language: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [language], domain="wtforms")


class _PageLanguageMessages:
    def gettext(self, string: str) -> str:
        return _catalogue(str(get_locale())).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _catalogue(str(get_locale())).ungettext(singular, plural, n)


_MESSAGES = _PageLanguageMessages()


class PublicForm(FlaskForm):
    """A FlaskForm whose WTForms messages come from catalogues kept in memory."""

    class Meta:
        def get_translations(self, form: Any) -> _PageLanguageMessages:
            return _MESSAGES
