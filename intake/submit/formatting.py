"""Sizes, numbers and days as the submitter reads them, in their language."""

from __future__ import annotations

import datetime as dt

from flask_babel import format_date, format_decimal, gettext

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB


def describe_size(size: int) -> str:
    """`2 GB`, `1,5 МБ`: binary units, as file managers show them, at most one decimal."""
    if size >= GIB:
        return gettext("%(number)s GB", number=format_number(size / GIB))
    if size >= MIB:
        return gettext("%(number)s MB", number=format_number(size / MIB))
    return gettext("%(number)s KB", number=format_number(max(size / KIB, 1)))


def format_number(value: float) -> str:
    return str(format_decimal(value, format="#,##0.#"))


def format_day(day: dt.date) -> str:
    # Only the day is stored for anything a submitter sees: there is no time to show.
    return str(format_date(day, format="long"))
