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

from flask import session
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from intake.lawyer.access import intake_config
from intake.services.accounts import (
    EnrolmentProblem,
    hash_token,
    new_totp_secret,
    open_enrolment_totp,
    seal_enrolment_totp,
    totp_qr_data_uri,
)

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
            seed = open_enrolment_totp(intake_config(), enrolment_id, base64.b64decode(stored))
        except binascii.Error:
            seed = None
        if seed is not None:
            return seed
    seed = new_totp_secret()
    session[ENROLMENT_TOTP_KEY] = base64.b64encode(
        seal_enrolment_totp(intake_config(), enrolment_id, seed)
    ).decode()
    return seed


def forget_enrolment_totp() -> None:
    session.pop(ENROLMENT_TOTP_KEY, None)


def totp_display(token: str, email: str) -> dict[str, str]:
    """Template context for the TOTP step: the QR code and the same seed as text."""
    seed = enrolment_totp_secret(token)
    grouped = " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))
    return {"totp_qr": totp_qr_data_uri(seed, email), "totp_secret": grouped}
