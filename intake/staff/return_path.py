"""Where a lawyer whose session ended goes back to after logging in again.

Only a relative path on this site's staff pages is ever followed: anything
else (another host, `//host`, a backslash some browsers read as a slash,
control characters) would make the login form an open redirect.
"""

from __future__ import annotations

import re

from flask import Request

STAFF_PREFIXES = ("/lawyer/", "/admin/")
# Path and query characters only: no scheme, no backslash, no whitespace or controls.
SAFE_PATH = re.compile(r"^/[A-Za-z0-9\-._~/?=&%+:@]*$")
MAX_LENGTH = 500


def safe_return_path(value: str | None) -> str | None:
    if not value or len(value) > MAX_LENGTH or not SAFE_PATH.match(value):
        return None
    if value.startswith("//") or not value.startswith(STAFF_PREFIXES):
        return None
    return value


def return_path_of(request: Request) -> str | None:
    """The page a refused GET asked for; a POST's form is gone, so it returns nowhere."""
    if request.method != "GET":
        return None
    path = request.full_path.rstrip("?")
    return safe_return_path(path)
