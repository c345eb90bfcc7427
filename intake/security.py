"""Response headers and the deny-by-default gate for every request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import Flask, Response, abort, current_app, g, request
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

ACCESS_RULES_KEY = "intake.access_rules"


@dataclass(frozen=True)
class AccessRules:
    """Who may reach what; built once per app by create_app.

    Anything not public needs a logged-in staff session (`g.current_user`,
    set by the staff loader).
    """

    public_endpoints: frozenset[str]
    public_blueprints: frozenset[str]
    # With a staff port configured, these answer only on it (the lawyers' onion).
    staff_blueprints: frozenset[str]


def access_rules() -> AccessRules:
    rules: AccessRules = current_app.extensions[ACCESS_RULES_KEY]
    return rules


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


def init_app(
    app: Flask,
    rules: AccessRules,
    load_user: Callable[[], None],
    onion_location: str | None,
    staff_port: int | None,
) -> None:
    """Register the user loader, then the gate that reads what it loaded.

    Flask runs app-wide before_request functions in the order they were
    registered, and this is the only place that registers these two.
    """
    app.extensions[ACCESS_RULES_KEY] = rules
    app.before_request(load_user)

    @app.url_value_preprocessor
    def hide_staff_pages(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
        """Off the staff port a staff route is unrouted, exactly like a missing one.

        URL value preprocessors run before every before_request hook, so no
        CSRF check, rate limit or staff loader sees the route either: an
        aborted 404 would still differ (staff page layout, a CSRF 400 first).
        """
        staff_page = request.blueprint in access_rules().staff_blueprints
        if staff_port is not None and staff_page and local_port(request.environ) != staff_port:
            request.url_rule = None
            request.view_args = None
            request.routing_exception = NotFound()

    @app.before_request
    def deny_by_default() -> None:
        endpoint = request.endpoint
        if endpoint is None:
            abort(404)
        rules = access_rules()
        if endpoint in rules.public_endpoints or request.blueprint in rules.public_blueprints:
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
