"""Every response carries the security headers; sessions use the hardened cookie."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from intake import create_app
from tests.conftest import make_config


def test_pages_send_strict_security_headers(client: FlaskClient) -> None:
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Onion-Location" not in response.headers


def test_error_pages_carry_the_same_headers(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_static_files_are_cacheable_but_still_locked_down(client: FlaskClient) -> None:
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_host_prefixed_secure_httponly_strict(client: FlaskClient) -> None:
    response = client.get("/?lang=ru")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-intake_session=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "Domain=" not in cookie


def test_onion_location_is_sent_only_when_configured(tmp_path: Path, database_url: str) -> None:
    onion = "http://exampleexampleexampleexampleexampleexampleexampleexample.onion"
    app = create_app(make_config(tmp_path, database_url, INTAKE_ONION_LOCATION=onion))
    response = app.test_client().get("/?lang=uk", base_url="https://localhost")
    assert response.headers["Onion-Location"] == onion + "/?lang=uk"


def test_templates_cannot_reach_the_configuration(client: FlaskClient) -> None:
    assert "config" not in client.application.jinja_env.globals
