"""Who is asking: joins the session cookie with its server half, once per request.

`load_staff` runs before security's deny-by-default gate (create_app
registers both, in that order) and sets `g.current_user` only for a live,
unlocked session. The decorators then hand each view a `StaffContext` as its
first argument; `loads_case` turns the route's `case_number` into the `case`
argument.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from flask import abort, g, redirect, session, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from crypto import Identity
from intake.db import get_session
from intake.models import Role, User, UserStatus
from intake.services.cases import case_by_number
from intake.services.lawyer_sessions import SessionTicket, UnlockedSession, resume_session

SESSION_ID_KEY = "staff_session_id"
SESSION_KEY_KEY = "staff_session_key"

Params = ParamSpec("Params")
Result = TypeVar("Result")


@dataclass(frozen=True)
class StaffContext:
    """The logged-in staff member of this request, with their unlocked key."""

    user: User
    identity: Identity = field(repr=False)
    session_id: str


StaffView = Callable[Concatenate[StaffContext, Params], Result]


def load_staff() -> None:
    ticket = SessionTicket.from_cookie(session.get(SESSION_ID_KEY), session.get(SESSION_KEY_KEY))
    if ticket is None:
        return
    unlocked = resume_session(get_session(), ticket)
    if unlocked is None:
        # The server half is gone (logout elsewhere, expiry, suspension): forget the cookie half.
        session.pop(SESSION_ID_KEY, None)
        session.pop(SESSION_KEY_KEY, None)
        # The login page then says the session ended, rather than nothing.
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


def requires_vetted(
    view: StaffView[Params, Result],
) -> Callable[Params, Result | BaseResponse]:
    """Only vetted staff; pending users are sent to wait for vetting."""

    @functools.wraps(view)
    def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> Result | BaseResponse:
        staff = _staff_context()
        if staff.user.status is UserStatus.PENDING:
            return redirect(url_for("lawyer.pending"))
        if staff.user.status is not UserStatus.VETTED:
            abort(403)
        return view(staff, *args, **kwargs)

    return wrapper


def requires_admin(view: StaffView[Params, Result]) -> Callable[Params, Result]:
    @functools.wraps(view)
    def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        staff = _staff_context()
        if staff.user.role is not Role.ADMIN or staff.user.status is not UserStatus.VETTED:
            abort(403)
        return view(staff, *args, **kwargs)

    return wrapper


def requires_session(view: StaffView[Params, Result]) -> Callable[Params, Result]:
    """Any live session, vetted or not (the pending page, logout)."""

    @functools.wraps(view)
    def wrapper(*args: Params.args, **kwargs: Params.kwargs) -> Result:
        return view(_staff_context(), *args, **kwargs)

    return wrapper


def loads_case(view: Callable[..., Result]) -> Callable[..., Result]:
    """Turn the route's `case_number` into the view's `case` argument (after the context), or 404."""

    @functools.wraps(view)
    def wrapper(staff: StaffContext, *args: Any, case_number: int, **kwargs: Any) -> Result:
        case = case_by_number(get_session(), case_number)
        if case is None:
            abort(404)
        return view(staff, case, *args, **kwargs)

    return wrapper


def _staff_context() -> StaffContext:
    unlocked: UnlockedSession | None = g.get("unlocked")
    if unlocked is None:
        abort(401)
    return StaffContext(user=unlocked.user, identity=unlocked.identity, session_id=unlocked.session_id)
