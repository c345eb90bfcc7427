"""Rate-limit keys that never involve an IP address.

Over Tor every visitor arrives from the local tor daemon, and we must not
record addresses anyway, so a client is identified by a random id kept in its
own session cookie. A client that drops the cookie gets a new id: that is why
every per-client limit is paired with a global one.
"""

from __future__ import annotations

import secrets

from flask import session


def client_session_key() -> str:
    client_id = session.get("client_id")
    if not isinstance(client_id, str):
        client_id = secrets.token_urlsafe(16)
        session["client_id"] = client_id
    return f"client:{client_id}"


def global_key() -> str:
    return "global"
