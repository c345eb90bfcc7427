"""Which word list a new codename uses, and the typo check before a codename login.

A submitter gets their codename in the language of the page they wrote on:
words they can read, remember and type back. Any list's words are accepted
at login, so a codename works whatever language the page is in later.
"""

from dataclasses import dataclass

from crypto import generate_codename, normalise_codename
from crypto.codename import ENGLISH, RUSSIAN, UKRAINIAN, UnknownCodenameWord, Wordlist

_WORDLIST_BY_LANGUAGE = {"en": ENGLISH, "ru": RUSSIAN, "uk": UKRAINIAN}


def codename_wordlist(language: str) -> Wordlist:
    return _WORDLIST_BY_LANGUAGE.get(language, ENGLISH)


def new_codename(language: str) -> str:
    return generate_codename(codename_wordlist(language))


@dataclass(frozen=True)
class MisspeltWord:
    """For the submitter's own page only: it repeats what they typed."""

    position: int
    typed: str
    suggestion: str


def misspelt_word(codename: str) -> MisspeltWord | None:
    """The first word in no list, with the nearest list word.

    Says nothing about whether the codename exists: only the word lists,
    which are public, are consulted.
    """
    try:
        normalise_codename(codename)
    except UnknownCodenameWord as unknown:
        return MisspeltWord(unknown.position, unknown.typed, unknown.suggestion)
    except ValueError:
        return None
    return None
