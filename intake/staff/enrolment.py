"""The TOTP seed shown during enrolment, kept until the enrollee confirms a code.

Enrolment works without JavaScript over several page loads (a weak
passphrase sends the form back), and the QR code already scanned must stay
valid across them. The seed is therefore kept in the enrollee's own cookie,
sealed under a server key so the signed-but-readable Flask cookie does not
expose it, and bound to this invite or setup token.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from flask import flash, render_template, session
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm

from intake.configuration import current_config
from intake.models import User
from intake.services.accounts import (
    EnrolmentError,
    EnrolmentProblem,
    hash_token,
    judge_passphrase,
    key_fingerprint,
)
from intake.services.totp import new_totp_secret, open_enrolment_totp, seal_enrolment_totp, totp_qr_data_uri

ENROLMENT_TOTP_KEY = "enrolment_totp"
ENROLMENT_PROBLEMS: dict[EnrolmentProblem, LazyString] = {
    EnrolmentProblem.EMAIL_TAKEN: _l("An account with this email address already exists."),
    EnrolmentProblem.WEAK_PASSPHRASE: _l("Choose a stronger passphrase."),
    EnrolmentProblem.WRONG_CODE: _l(
        "That code did not match. Check the time on your phone and try the newest code."
    ),
}


def enrolment_totp_secret(token: str) -> str:
    """The seed for this enrolment: the one shown before, or a new one."""
    enrolment_id = hash_token(token)
    stored = session.get(ENROLMENT_TOTP_KEY)
    if isinstance(stored, str):
        try:
            seed = open_enrolment_totp(current_config(), enrolment_id, base64.b64decode(stored))
        except binascii.Error:
            seed = None
        if seed is not None:
            return seed
    seed = new_totp_secret()
    session[ENROLMENT_TOTP_KEY] = base64.b64encode(
        seal_enrolment_totp(current_config(), enrolment_id, seed)
    ).decode()
    return seed


def forget_enrolment_totp() -> None:
    session.pop(ENROLMENT_TOTP_KEY, None)


def totp_display(token: str, email: str) -> dict[str, str]:
    """Template context for the TOTP step: the QR code and the same seed as text."""
    seed = enrolment_totp_secret(token)
    grouped = " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))
    return {"totp_qr": totp_qr_data_uri(seed, email), "totp_secret": grouped}


# Takes the passphrase, the TOTP seed shown and the code typed; returns the new account.
Enrol = Callable[[str, str, str], User]


def enrolment_page(token: str, form: FlaskForm, email: str | None, enrol: Enrol, vetted: bool) -> str:
    """One enrolment step, shared by invites and first-admin setup.

    Judges the passphrase, then enrols; on any problem the same form comes
    back with the same TOTP seed, so a scanned QR code stays valid.
    `email` is the invite's address, or None when the form asks for one.
    """
    verdict = None
    if form.validate_on_submit():
        account_email = email or form.email.data
        verdict = judge_passphrase(form.passphrase.data, [account_email])
        if verdict.acceptable:
            try:
                user = enrol(form.passphrase.data, enrolment_totp_secret(token), form.totp_code.data)
            except EnrolmentError as error:
                flash(ENROLMENT_PROBLEMS[error.problem], "error")
            else:
                forget_enrolment_totp()
                return render_template("lawyer/enrolled.html", fingerprint=key_fingerprint(user), vetted=vetted)
    label = email or form.email.data or "admin"
    return render_template(
        "lawyer/enrol.html", form=form, email=email, verdict=verdict, **totp_display(token, label)
    )
