"""With a staff port configured, lawyer and admin pages exist only on the lawyers' onion."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

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
