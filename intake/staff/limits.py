"""Rate limits on staff routes that take a passphrase."""

from __future__ import annotations

from intake.configuration import current_config


def login_rate_limit() -> str:
    """Login, enrolment and first-admin setup share one per-client limit on attempts."""
    return current_config().login_rate_limit
