"""A wait instead of a refusal once codename guessing has spent the global budget.

Only wrong codenames spend the global budget. Once it is spent, an attempt
is not refused: the visitor is asked to wait a minute, the time is noted in
their signed cookie, and their next attempt after the wait is checked however
busy the service is. Each wait is good for one attempt. A guesser gains one
check per cookie per minute; the real submitter, who needs one check, gets in
a minute later than usual instead of an hour.
"""

from __future__ import annotations

import time

from flask import Response, make_response, render_template, session
from flask_limiter import RequestLimit

from intake.submit.forms import CodenameForm

WAIT_SECONDS = 60
# A wait noted long ago proves nothing about this visit.
WAIT_VALID_SECONDS = 60 * 60
WAITING_SINCE = "codename_waiting_since"


def has_waited() -> bool:
    since = session.get(WAITING_SINCE)
    return isinstance(since, int) and WAIT_SECONDS <= time.time() - since <= WAIT_VALID_SECONDS


def spend_wait() -> None:
    session.pop(WAITING_SINCE, None)


def note_wait() -> None:
    """Start this visitor's wait; pressing again early does not restart it."""
    since = session.get(WAITING_SINCE)
    if not (isinstance(since, int) and time.time() - since <= WAIT_VALID_SECONDS):
        session[WAITING_SINCE] = int(time.time())


def ask_to_wait(_limit: RequestLimit) -> Response:
    """The codename page asking for a minute's patience."""
    note_wait()
    page = render_template("submit/codename.html", form=CodenameForm(formdata=None), waiting=True)
    response = make_response(page, 429)
    response.headers["Retry-After"] = str(WAIT_SECONDS)
    return response
