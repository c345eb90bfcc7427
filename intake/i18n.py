"""Language choice without JavaScript: an explicit link wins, then Accept-Language."""

from __future__ import annotations

from flask import request, session

LANGUAGES = {"en": "English", "ru": "Русский", "uk": "Українська"}
DEFAULT_LANGUAGE = "en"


def select_locale() -> str:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        session["lang"] = chosen
        return chosen
    remembered = session.get("lang")
    if remembered in LANGUAGES:
        return str(remembered)
    return request.accept_languages.best_match(list(LANGUAGES), DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE
