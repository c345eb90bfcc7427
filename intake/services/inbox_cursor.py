"""Where the inbox's Previous and Next links start reading: a case's place in the activity order.

A Next link carries the (last activity day, number) of the last row shown, a
Previous link that of the first, so the page they lead to reads on from that key
in an activity index instead of skipping every row before it (services.inbox).
The key is only a position: rows are still read through the filters, and a key
whose case has since moved or gone still falls between the same neighbours.
In a URL it is `2026-11-30.12345`, parsed strictly.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

_URL_FORM = re.compile(r"(\d{4}-\d{2}-\d{2})\.(\d{1,19})", re.ASCII)
# cases.number is a signed 64-bit integer; a larger one made the database driver fail.
_LARGEST_NUMBER = 2**63 - 1


@dataclass(frozen=True)
class ActivityKey:
    last_activity_day: dt.date
    number: int

    def __str__(self) -> str:
        return f"{self.last_activity_day.isoformat()}.{self.number}"

    @classmethod
    def parse(cls, text: str) -> ActivityKey:
        """The key written by `str()`; anything else raises ValueError."""
        matched = _URL_FORM.fullmatch(text)
        if matched is None or not 1 <= int(matched[2]) <= _LARGEST_NUMBER:
            raise ValueError("not an inbox cursor")
        return cls(dt.date.fromisoformat(matched[1]), int(matched[2]))


@dataclass(frozen=True)
class PageCursor:
    """The page asked for comes right after `after` (the last row of the page before it)
    or right before `before` (the first row of the page after it); at most one is known."""

    after: ActivityKey | None = None
    before: ActivityKey | None = None

    def __post_init__(self) -> None:
        if self.after is not None and self.before is not None:
            raise ValueError("a page is reached from one side")


# A page reached by its number: read by position.
NO_CURSOR = PageCursor()
