"""What both ways of sending a help request share (the plain form in views.py,
the browser-encrypted one in browser_encryption.py): the upload limits, the
recipients, the form's tokens and held codename, and the receipt page."""

from __future__ import annotations

from collections.abc import Callable

from flask import g, render_template, session
from flask_babel import get_locale
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.datastructures import MultiDict
from wtforms import ValidationError

from intake.configuration import current_config
from intake.db import get_session
from intake.extensions import limiter
from intake.ratelimit import global_key, passed_csrf_check
from intake.services.form_codenames import (
    FORM_CODENAME_FIELD,
    FormCodename,
    InvalidFormCodename,
    new_form_codename,
    new_form_session,
    open_form_codename,
)
from intake.services.keyring import RecipientSet, submission_recipients
from intake.services.submissions import Receipt, SentForm, stored_receipt
from intake.submit.forms import CodenameCheckForm

_FORM_SESSION = "form_session"
# The page's language, posted with the form: an expired form comes back in it.
FORM_LANGUAGE_FIELD = "form_language"


def configured_limit(name: str) -> Callable[[], str]:
    return lambda: str(getattr(current_config(), name))


# Per submitting browser (a random id in its cookie, never an IP) and for the
# whole service, because a client can always drop its cookie.
per_client_upload_limit = limiter.shared_limit(
    configured_limit("submit_rate_limit"), scope="uploads", methods=["POST"], deduct_when=passed_csrf_check
)
global_upload_limit = limiter.shared_limit(
    configured_limit("global_submit_rate_limit"),
    scope="uploads-global",
    key_func=global_key,
    methods=["POST"],
    deduct_when=passed_csrf_check,
)


class NotAccepting(Exception):
    """No vetted lawyer (or no recovery key): nobody could read what would be stored."""


def upload_recipients() -> RecipientSet:
    """Who uploads are encrypted to; ends the transaction before the body is read.

    Over Tor a body streams for hours, and a transaction left open meanwhile
    would hold back PostgreSQL's vacuum and block migrations.
    """
    db = get_session()
    recipients = submission_recipients(db)
    db.rollback()
    if recipients is None:
        raise NotAccepting
    return recipients


def require_csrf_token(fields: MultiDict[str, str]) -> None:
    try:
        validate_csrf(fields.get("csrf_token"))
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None
    g.csrf_valid = True


def _form_session() -> str:
    """What this browser session's form codenames are bound to (see form_codenames)."""
    form_session = session.get(_FORM_SESSION)
    if not isinstance(form_session, str):
        form_session = new_form_session()
        session[_FORM_SESSION] = form_session
    return form_session


def new_held_codename() -> FormCodename:
    return new_form_codename(current_config().secret_key, str(get_locale()), _form_session())


def held_codename(sealed: str | None) -> FormCodename:
    try:
        return open_form_codename(current_config().secret_key, sealed, _form_session())
    except InvalidFormCodename as error:
        # Said like an expired form: reloading the form is the cure for both.
        raise CSRFError(str(error)) from None


def require_request_tokens(fields: MultiDict[str, str]) -> None:
    require_csrf_token(fields)
    held_codename(fields.get(FORM_CODENAME_FIELD))


def stored_receipt_of(held: FormCodename, sent: SentForm) -> Receipt | None:
    return stored_receipt(get_session(), current_config(), held.codename, sent)


def receipt_page(
    held: FormCodename,
    receipt: Receipt | None = None,
    check_form: CodenameCheckForm | None = None,
    encrypted_in_browser: bool = False,
) -> str:
    return render_template(
        "submit/receipt.html",
        codename=held.codename,
        check_form=check_form or CodenameCheckForm(formdata=None, form_codename=held.sealed),
        encrypted_in_browser=encrypted_in_browser,
        added_as_follow_up=receipt is not None and receipt.added_as_follow_up,
    )
