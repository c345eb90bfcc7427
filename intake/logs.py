"""Logging that records what went wrong, never who, from where, or when they wrote.

No IP address, user agent, query string, cookie or body is ever formatted.
Ordinary requests are not logged at all: Docker (or journald) stamps every
line with the exact time, so a line per request would tell a seizing
adversary when each submission arrived. Server errors are logged with
method, route pattern and status, so the operator sees that something broke.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request

logger = logging.getLogger("intake.requests")


class DropAccessLines(logging.Filter):
    """Drop the development server's access lines: they start with the client address."""

    def filter(self, record: logging.LogRecord) -> bool:
        return " - - [" not in record.getMessage()


def init_app(app: Flask) -> None:
    # `make run` serves with Werkzeug, whose request log names the client's
    # address and the full query string; its other messages stay.
    werkzeug_logger = logging.getLogger("werkzeug")
    if not any(isinstance(existing, DropAccessLines) for existing in werkzeug_logger.filters):
        werkzeug_logger.addFilter(DropAccessLines())
    # Flask-WTF reports every refused CSRF token at INFO: one line per failed
    # form, a submitter's among them.
    logging.getLogger("flask_wtf.csrf").setLevel(logging.WARNING)

    @app.after_request
    def _log_server_errors(response: Response) -> Response:
        if response.status_code >= 500:
            route = request.url_rule.rule if request.url_rule else "<unmatched>"
            logger.warning("%s %s %s", request.method, route, response.status_code)
        return response
