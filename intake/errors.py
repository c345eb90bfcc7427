"""Error pages that explain what to do and leak nothing."""

from __future__ import annotations

import logging
import time
import traceback

from flask import Flask, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import BuildError

from intake.extensions import limiter
from intake.staff.return_path import return_path_of

logger = logging.getLogger("intake.errors")

PAGES = {400, 403, 404, 405, 413, 429, 500, 503}


def render_error(status: int, **context: object) -> tuple[str, int]:
    template = f"errors/{status}.html" if status in PAGES else "errors/generic.html"
    return render_template(template, status=status, **context), status


def _seconds_until_retry() -> int | None:
    """When the limit this request broke lets the next one through (Flask-Limiter knows)."""
    breached = limiter.current_limit
    if breached is None:
        return None
    return max(1, int(breached.reset_at - time.time()))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_error: CSRFError) -> tuple[str, int]:
        return render_error(400, csrf_failed=True)

    @app.errorhandler(401)
    def login_required(_error: HTTPException) -> ResponseReturnValue:
        try:
            ended = 1 if g.get("staff_session_ended") else None
            return redirect(url_for("lawyer.login", next=return_path_of(request), ended=ended))
        except BuildError:
            return render_error(403)

    @app.errorhandler(429)
    def too_many_requests(error: HTTPException) -> ResponseReturnValue:
        # A limit that answers for itself (the codename page's wait) keeps its answer.
        if error.response is not None:
            return error.response
        return render_error(429, retry_after=_seconds_until_retry())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code)

    @app.errorhandler(OperationalError)
    def database_unavailable(error: DBAPIError) -> tuple[str, int]:
        logger.error("database unavailable on %s: %s", request.url_rule, type(error.orig).__name__)
        return render_error(503)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> tuple[str, int]:
        if isinstance(error, HTTPException):
            return render_error(error.code or 500)
        # Type and frames only: an exception message may quote user input.
        frames = "".join(traceback.format_tb(error.__traceback__))
        logger.error("unhandled %s on %s\n%s", type(error).__name__, request.url_rule, frames)
        return render_error(InternalServerError.code)
