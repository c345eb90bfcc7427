"""Rate limits on staff routes that take a passphrase."""

from __future__ import annotations

from intake.configuration import current_config


def login_rate_limit() -> str:
    """Login, enrolment and first-admin setup share one per-client limit on attempts."""
    return current_config().login_rate_limit


def global_login_rate_limit() -> str:
    """Lawyer logins for everybody together: a client that drops its cookie escapes only the per-client limit."""
    return current_config().global_login_rate_limit
