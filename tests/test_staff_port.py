"""With a staff port configured, lawyer and admin pages exist only on the lawyers' onion."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from intake import create_app
from tests.conftest import make_config


@pytest.fixture
def listeners() -> Iterator[dict[str, socket.socket]]:
    # Real listening sockets, as gunicorn hands them to the app in the environ.
    sockets = {}
    for name in ("public", "staff"):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        sockets[name] = listener
    yield sockets
    for listener in sockets.values():
        listener.close()


@pytest.fixture
def split_app(tmp_path: Path, database_url: str, listeners: dict[str, socket.socket]) -> Flask:
    staff_port = listeners["staff"].getsockname()[1]
    return create_app(make_config(tmp_path, database_url, INTAKE_STAFF_PORT=str(staff_port)))


def _get(app: Flask, path: str, listener: socket.socket | None, host: str = "localhost") -> int:
    environ = {"wsgi.url_scheme": "https"}
    if listener is not None:
        environ["gunicorn.socket"] = listener
    return app.test_client().get(path, environ_base=environ, headers={"Host": host}).status_code


def test_staff_login_answers_only_on_the_staff_port(split_app: Flask, listeners: dict[str, socket.socket]) -> None:
    assert _get(split_app, "/lawyer/login", listeners["staff"]) == 200
    assert _get(split_app, "/lawyer/login", listeners["public"]) == 404
    assert _get(split_app, "/admin/", listeners["public"]) == 404


def test_a_forged_host_header_does_not_open_the_staff_pages(
    split_app: Flask, listeners: dict[str, socket.socket]
) -> None:
    staff_port = listeners["staff"].getsockname()[1]
    assert _get(split_app, "/lawyer/login", listeners["public"], host=f"localhost:{staff_port}") == 404
    assert _get(split_app, "/lawyer/login", None, host=f"localhost:{staff_port}") == 404


def test_public_pages_answer_on_both_ports(split_app: Flask, listeners: dict[str, socket.socket]) -> None:
    assert _get(split_app, "/", listeners["public"]) == 200
    assert _get(split_app, "/", listeners["staff"]) == 200


def test_without_a_staff_port_staff_pages_answer_everywhere(app: Flask) -> None:
    assert _get(app, "/lawyer/login", None) == 200


STAFF_PATHS = ["/lawyer/login", "/lawyer/", "/lawyer/cases/1", "/lawyer/enrol/some-token", "/admin/", "/admin/invites"]
METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD"]


def _answer(client: FlaskClient, method: str, path: str, listener: socket.socket, **kwargs: Any) -> tuple[int, bytes, list[str]]:
    response = client.open(path, method=method, environ_base={"wsgi.url_scheme": "https", "gunicorn.socket": listener}, **kwargs)
    headers = sorted(f"{name}: {value}" for name, value in response.headers.items() if name != "Date")
    return response.status_code, response.get_data(), headers


@pytest.mark.parametrize("method", METHODS)
def test_on_the_public_port_staff_routes_answer_like_missing_ones(
    split_app: Flask, listeners: dict[str, socket.socket], method: str
) -> None:
    public = listeners["public"]
    missing = _answer(split_app.test_client(), method, "/lawyer/no-such-page", public)
    assert missing[0] == 404
    for path in STAFF_PATHS:
        assert _answer(split_app.test_client(), method, path, public) == missing, f"{method} {path}"


def test_a_valid_csrf_token_does_not_tell_staff_routes_apart(
    split_app: Flask, listeners: dict[str, socket.socket]
) -> None:
    # Given a browser holding a valid CSRF token from a public form
    client = split_app.test_client()
    public = listeners["public"]
    page = _answer(client, "GET", "/codename", public)[1].decode()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    form = {"csrf_token": token.group(1), "email": "a@example.org", "passphrase": "x", "totp": "123456"}
    # Then posting it to a staff route answers like posting it to a missing one
    missing = _answer(client, "POST", "/lawyer/no-such-page", public, data=form)
    for path in STAFF_PATHS:
        assert _answer(client, "POST", path, public, data=form) == missing, path
