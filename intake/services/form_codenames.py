"""The codename a help-request form carries, so the submitter holds it before anything is sent.

Each visit to the form draws a fresh codename from the system's random source
and shows it at the top of the page; the form also carries it sealed (ChaCha20-
Poly1305 under a key derived from SECRET_KEY, random nonce) in a hidden field.
The seal is bound to the browser session the form was drawn for (a random
value in its signed cookie is part of the associated data), so a sealed
codename lifted into another browser opens nowhere: it neither shows the
codename nor stores a request under it.
The server keeps nothing: the codename exists only in that page until a
request is stored under it, and then only as its Argon2id-derived lookup id
and key, as before.

Sealing, rather than taking the codename as typed, means the server accepts
only codenames it drew itself, never one a client chose. Because a request is
stored under the codename the form carries, sending the same form twice (a
reload, a double click, a retry after a lost response) finds the same source
and stores nothing new (a changed form becomes a further message, see
intake.services.submissions); and a submitter whose response never arrived
still holds the codename that reaches their case.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass

from crypto import (
    DecryptionError,
    InvalidCodename,
    derive_subkey,
    normalise_codename,
    open_sealed,
    seal,
)
from intake.services.codenames import new_codename

FORM_CODENAME_FIELD = "form_codename"
_SUBKEY_PURPOSE = "form-codename"
_CONTEXT = b"intake/form-codename/v2/session:"


class InvalidFormCodename(ValueError):
    """The form's sealed codename is missing, damaged or not ours."""


@dataclass(frozen=True)
class FormCodename:
    codename: str
    # What the form carries in its hidden field.
    sealed: str


def new_form_session() -> str:
    """The random value a browser session's forms are bound to; kept in its signed cookie."""
    return secrets.token_urlsafe(16)


def new_form_codename(secret_key: bytes, language: str, form_session: str) -> FormCodename:
    """A fresh codename in the words of the page's language, and its copy sealed for this session's form."""
    codename = new_codename(language)
    sealed = seal(codename.encode(), derive_subkey(secret_key, _SUBKEY_PURPOSE), _context(form_session))
    return FormCodename(codename, base64.urlsafe_b64encode(sealed).decode())


def open_form_codename(secret_key: bytes, sealed: str | None, form_session: str) -> FormCodename:
    """The codename a form carries; InvalidFormCodename if it is damaged, not ours, or another session's."""
    if not sealed:
        raise InvalidFormCodename("the form carries no codename")
    try:
        raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
        codename = open_sealed(
            raw, derive_subkey(secret_key, _SUBKEY_PURPOSE), _context(form_session)
        ).decode()
    except (UnicodeError, binascii.Error, ValueError, DecryptionError):
        raise InvalidFormCodename(
            "the form's codename is not one this service made for this browser"
        ) from None
    return FormCodename(codename, sealed)


def _context(form_session: str) -> bytes:
    return _CONTEXT + form_session.encode()


def is_same_codename(typed: str, held: str) -> bool:
    """Whether the submitter typed the codename back, however they spaced or capitalised it."""
    try:
        return normalise_codename(typed) == normalise_codename(held)
    except InvalidCodename:
        return False
