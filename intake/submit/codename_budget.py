"""The codename budgets, spent alike wherever a visitor types a codename.

The codename page spends them through its Flask-Limiter decorators (scopes
below, shared so the counters have names of their own). The follow-up form,
when the session ended while it was written, asks for the codename inside a
streamed upload, after its CSRF check: it cannot be refused before its body
is read without losing the message, so it asks here instead, and a refusal
keeps the message on the page.

Per client, every codename tried counts; globally, only wrong ones, and once
those are spent a visitor waits a minute and then has one attempt (see
codename_wait).
"""

from __future__ import annotations

import enum

from limits import parse

from intake.configuration import current_config
from intake.extensions import limiter
from intake.ratelimit import client_session_key, global_key
from intake.submit.codename_wait import has_waited, note_wait, spend_wait

CLIENT_SCOPE = "codename"
GLOBAL_SCOPE = "codename-global"


class Refusal(enum.Enum):
    CLIENT_SPENT = "client"
    # Many wrong codenames everywhere: this visitor is asked to wait a minute.
    WAIT = "wait"


def refusal_before_trying() -> Refusal | None:
    """Why a codename typed now must not be tried, or None (then call `spend_attempt`)."""
    config = current_config()
    if not limiter.limiter.test(parse(config.login_rate_limit), client_session_key(), CLIENT_SCOPE):
        return Refusal.CLIENT_SPENT
    if has_waited():
        spend_wait()
        return None
    if not limiter.limiter.test(parse(config.global_codename_rate_limit), global_key(), GLOBAL_SCOPE):
        note_wait()
        return Refusal.WAIT
    return None


def spend_attempt(wrong: bool) -> None:
    config = current_config()
    limiter.limiter.hit(parse(config.login_rate_limit), client_session_key(), CLIENT_SCOPE)
    if wrong:
        limiter.limiter.hit(parse(config.global_codename_rate_limit), global_key(), GLOBAL_SCOPE)
