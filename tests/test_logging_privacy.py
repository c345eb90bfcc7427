"""Request logs record method, route, status and time: never who, from where, or what."""

from __future__ import annotations

import logging
import threading
import urllib.request

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server


def test_request_log_has_no_ip_user_agent_query_or_cookie(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.get(
        "/?lang=ru&q=query-marker",
        headers={"User-Agent": "agent-marker/1.0", "X-Forwarded-For": "203.0.113.77"},
        environ_base={"REMOTE_ADDR": "198.51.100.23"},
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET / 200" in logged
    for marker in ("198.51.100.23", "203.0.113.77", "agent-marker", "query-marker", "__Host-"):
        assert marker not in logged


def test_development_server_access_lines_are_dropped(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    # Given the Werkzeug server `make run` uses, serving the real app
    caplog.set_level(logging.DEBUG)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        # When a visitor asks for a page with a query string
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/?q=query-marker") as response:
            assert response.status == 200
    finally:
        server.shutdown()
        thread.join(timeout=10)

    # Then the app logged the request, and nobody logged the address or the query
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET / 200" in logged
    assert "127.0.0.1" not in logged
    assert "query-marker" not in logged
