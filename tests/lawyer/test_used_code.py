"""A code already used (typically the one typed at enrolment) gets its own, helpful answer."""

from __future__ import annotations

import pyotp
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from intake.models import User
from tests.factories import LawyerFixture
from tests.lawyer.helpers import STRONG_PASSPHRASE, enrol, log_in, run_invite

ALREADY_USED = "This code was already used. Wait until your authenticator app shows the next one"


def test_the_code_typed_at_enrolment_is_refused_with_a_reason(
    client: FlaskClient, db_session: Session, lawyer: LawyerFixture
) -> None:
    # Given somebody who just enrolled with the code their app showed
    enrolment = enrol(client, run_invite(client.application, "new@example.org"))
    user = db_session.query(User).filter_by(email="new@example.org").one()
    assert user.totp_last_step is not None
    used_code = pyotp.TOTP(enrolment.totp_secret).generate_otp(user.totp_last_step)

    # When they log in at once with that same code and the right passphrase
    page = log_in(client, "new@example.org", STRONG_PASSPHRASE, used_code)
    # Then they are told to wait for the next code, not that their details are wrong
    assert ALREADY_USED in page

    # But with a wrong passphrase the answer stays the generic one
    page = log_in(client, "new@example.org", "wrong " + STRONG_PASSPHRASE, used_code)
    assert ALREADY_USED not in page and "Those details did not work" in page
