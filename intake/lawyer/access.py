"""Who is asking: joins the session cookie with its server half, once per request.

`load_staff` runs before security's deny-by-default gate and sets
`g.current_user` only for a live, unlocked session. The decorators then hand
views exactly what they need (`user`, `identity`, `session_id`, `case`) as arguments.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from flask import abort, current_app, g, redirect, session, url_for

from config import Config
from intake.db import get_session
from intake.models import Role, UserStatus
from intake.services.cases import case_by_number
from intake.services.lawyer_sessions import SessionTicket, UnlockedSession, resume_session

SESSION_ID_KEY = "staff_session_id"
SESSION_KEY_KEY = "staff_session_key"


def intake_config() -> Config:
    config: Config = current_app.config["INTAKE"]
    return config


def load_staff() -> None:
    ticket = SessionTicket.from_cookie(session.get(SESSION_ID_KEY), session.get(SESSION_KEY_KEY))
    if ticket is None:
        return
    unlocked = resume_session(get_session(), ticket)
    if unlocked is None:
        # The server half is gone (logout elsewhere, expiry, suspension): forget the cookie half.
        session.pop(SESSION_ID_KEY, None)
        session.pop(SESSION_KEY_KEY, None)
        g.staff_session_ended = True
        return
    g.unlocked = unlocked
    g.current_user = unlocked.user


def start_staff_session(ticket: SessionTicket) -> None:
    """A fresh cookie for a fresh login: nothing from before (CSRF token included) carries over."""
    language = session.get("lang")
    session.clear()
    if language is not None:
        session["lang"] = language
    session[SESSION_ID_KEY] = ticket.session_id
    session[SESSION_KEY_KEY] = ticket.encode_key()


def requires_vetted(view: Callable[..., Any]) -> Callable[..., Any]:
    """Only vetted staff; pending users are sent to wait for vetting."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        unlocked = _unlocked()
        if unlocked.user.status is UserStatus.PENDING:
            return redirect(url_for("lawyer.pending"))
        if unlocked.user.status is not UserStatus.VETTED:
            abort(403)
        return view(*args, **_inject(view, unlocked), **kwargs)

    return wrapper


def requires_admin(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        unlocked = _unlocked()
        if unlocked.user.role is not Role.ADMIN or unlocked.user.status is not UserStatus.VETTED:
            abort(403)
        return view(*args, **_inject(view, unlocked), **kwargs)

    return wrapper


def requires_session(view: Callable[..., Any]) -> Callable[..., Any]:
    """Any live session, vetted or not (the pending page, logout)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return view(*args, **_inject(view, _unlocked()), **kwargs)

    return wrapper


def loads_case(view: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the route's `case_number` into `case`, or 404."""

    @functools.wraps(view)
    def wrapper(*args: Any, case_number: int, **kwargs: Any) -> Any:
        case = case_by_number(get_session(), case_number)
        if case is None:
            abort(404)
        return view(*args, case=case, **kwargs)

    return wrapper


def _unlocked() -> UnlockedSession:
    unlocked: UnlockedSession | None = g.get("unlocked")
    if unlocked is None:
        abort(401)
    return unlocked


def _inject(view: Callable[..., Any], unlocked: UnlockedSession) -> dict[str, Any]:
    wanted = inspect.signature(view).parameters
    available = {"user": unlocked.user, "identity": unlocked.identity, "session_id": unlocked.session_id}
    return {name: value for name, value in available.items() if name in wanted}
