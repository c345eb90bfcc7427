"""Request logging that records what happened, never who or from where.

No IP address, user agent, query string, cookie or body is ever formatted;
only method, route pattern, status and duration.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

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

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.monotonic()

    @app.after_request
    def _log_request(response: Response) -> Response:
        started = g.get("request_started")
        duration_ms = (time.monotonic() - started) * 1000 if started else 0.0
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        logger.info("%s %s %s %.0fms", request.method, route, response.status_code, duration_ms)
        return response
