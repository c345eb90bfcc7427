"""Response headers and the deny-by-default gate for every request."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask, Response, abort, g, request
from werkzeug.exceptions import NotFound

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

STATIC_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Permissions-Policy": (
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
        "interest-cohort=(), clipboard-read=(), display-capture=()"
    ),
}

# Endpoints anybody may reach. Everything else needs a logged-in staff
# session (set by the lawyer blueprint's loader as `g.current_user`).
PUBLIC_ENDPOINTS: set[str] = {"static", "health.healthz"}
PUBLIC_BLUEPRINTS: set[str] = {"submit"}
# With a staff port configured, these answer only on it (the lawyers' onion).
STAFF_BLUEPRINTS: frozenset[str] = frozenset({"lawyer", "admin"})


def public(endpoint: str) -> None:
    """Allowlist one endpoint; used by blueprints for login and enrolment."""
    PUBLIC_ENDPOINTS.add(endpoint)


def local_port(environ: dict[str, Any]) -> int | None:
    """The port the connection arrived on, from the socket itself.

    Host and X-Forwarded-* headers are chosen by the client, so they cannot
    tell the public onion from the lawyers' one; the listening socket can.
    """
    listener = environ.get("gunicorn.socket")
    if listener is None:
        return None
    port: int = listener.getsockname()[1]
    return port


def _quoted_target(environ: dict[str, Any]) -> str:
    """Path and query as the client sent them, percent-encoded to plain ASCII.

    Decoded paths may hold Cyrillic, invalid UTF-8 or CR/LF, none of which
    may appear in a header value.
    """
    path = quote(environ.get("PATH_INFO", "").encode("latin-1", "replace"), safe="/")
    query = quote(environ.get("QUERY_STRING", "").encode("latin-1", "replace"), safe="=&%+")
    return f"{path}?{query}" if query else path


def init_app(app: Flask, onion_location: str | None, staff_port: int | None) -> None:
    """Register after the blueprints, so their user loaders run before this gate."""

    @app.url_value_preprocessor
    def hide_staff_pages(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
        """Off the staff port a staff route is unrouted, exactly like a missing one.

        URL value preprocessors run before every before_request hook, so no
        CSRF check, rate limit or staff loader sees the route either: an
        aborted 404 would still differ (staff page layout, a CSRF 400 first).
        """
        staff_page = request.blueprint in STAFF_BLUEPRINTS
        if staff_port is not None and staff_page and local_port(request.environ) != staff_port:
            request.url_rule = None
            request.view_args = None
            request.routing_exception = NotFound()

    @app.before_request
    def deny_by_default() -> None:
        endpoint = request.endpoint
        if endpoint is None:
            abort(404)
        if endpoint in PUBLIC_ENDPOINTS or request.blueprint in PUBLIC_BLUEPRINTS:
            return
        if getattr(g, "current_user", None) is None:
            abort(401)

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in STATIC_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"
            response.headers["Pragma"] = "no-cache"
        if onion_location:
            response.headers["Onion-Location"] = onion_location.rstrip("/") + _quoted_target(request.environ)
        response.headers.pop("Server", None)
        return response
