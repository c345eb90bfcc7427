"""Rate-limit keys that never involve an IP address.

Over Tor every visitor arrives from the local tor daemon, and we must not
record addresses anyway, so a client is identified by a random id kept in its
own session cookie. A client that drops the cookie gets a new id: that is why
every per-client limit is paired with a global one.

Submission and codename limits count only requests that got past their CSRF
check: a flood of bare POSTs, refused with a 400 before any work is done,
must not use up the hour's budget and lock real submitters out. The check
runs before the request and the count after the response, so requests in
flight at the same moment can overshoot a limit by at most their number.
"""

from __future__ import annotations

import secrets

from flask import Response, g, session


def client_session_key() -> str:
    client_id = session.get("client_id")
    if not isinstance(client_id, str):
        client_id = secrets.token_urlsafe(16)
        session["client_id"] = client_id
    return f"client:{client_id}"


def global_key() -> str:
    return "global"


def passed_csrf_check(_response: Response) -> bool:
    """Whether this request counts against its limits (Flask-Limiter's `deduct_when`).

    Flask-WTF marks `g.csrf_valid` once a token validates; streaming uploads,
    which check their token inside the body, mark it the same way.
    """
    return bool(g.get("csrf_valid", False))
