"""Who a help request would be encrypted to, asked once per request.

The form page needs it twice (whether to show the form at all, and the
recipient list for the page's encryption script); each asking is a fresh
database transaction, a few milliseconds of every submission.
"""

from __future__ import annotations

from flask import g

from intake.db import get_session
from intake.services.keyring import RecipientSet, submission_recipients

_CACHED = "submission_recipients"


def current_recipients() -> RecipientSet | None:
    if _CACHED not in g:
        setattr(g, _CACHED, submission_recipients(get_session()))
    recipients: RecipientSet | None = getattr(g, _CACHED)
    return recipients
