"""Request logging that records what happened, never who or from where.

No IP address, user agent, query string, cookie or body is ever formatted;
only method, route pattern, status and duration.
"""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

logger = logging.getLogger("intake.requests")


def init_app(app: Flask) -> None:
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
