"""One notion of "now", and datetimes that compare safely.

SQLite hands back naive datetimes even for timezone-aware columns, while
PostgreSQL hands back aware ones; every comparison goes through `as_utc`.
"""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def utc_today() -> dt.date:
    """Today in UTC: stored dates are kept to the day, never the time."""
    return utc_now().date()


def as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
