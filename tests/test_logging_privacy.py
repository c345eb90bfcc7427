"""Logs never say who, from where, what, or when somebody wrote; ordinary requests are not logged."""

from __future__ import annotations

import http.client
import logging
import re
import threading
import urllib.request
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from tests.servers import gunicorn
from tests.submit.helpers import create_readers
from tests.submit.multipart import CONTENT_TYPE, Upload, body_bytes, help_request_parts, request_tokens_on


def test_request_log_has_no_ip_user_agent_query_or_cookie(client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client.get(
        "/?lang=ru&q=query-marker",
        headers={"User-Agent": "agent-marker/1.0", "X-Forwarded-For": "203.0.113.77"},
        environ_base={"REMOTE_ADDR": "198.51.100.23"},
    )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET" not in logged
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

    # Then nobody logged the request, its address or its query
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "GET /" not in logged
    assert "127.0.0.1" not in logged
    assert "query-marker" not in logged


TIME_OF_DAY = re.compile(r"\b\d{1,2}:\d{2}(:\d{2})?\b")


def test_a_real_server_log_holds_no_time_or_size_of_a_submission(
    tmp_path: Path, database_url: str, db_session: Session
) -> None:
    # Given the production server and settings, ready to accept requests
    create_readers(db_session)
    file_content = b"\x17" * 123_457
    with gunicorn(tmp_path, database_url) as server:
        # When somebody sends a help request with two files and reads the receipt
        connection = http.client.HTTPConnection("127.0.0.1", server.public_port, timeout=30)
        connection.request("GET", "/request")
        response = connection.getresponse()
        page = response.read().decode()
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0]
        assert cookie
        files = [Upload("a.bin", file_content), Upload("b.bin", file_content)]
        body = body_bytes(help_request_parts(request_tokens_on(page), files=files))
        connection.request("POST", "/request", body=body, headers={"Content-Type": CONTENT_TYPE, "Cookie": cookie})
        response = connection.getresponse()
        assert response.status == 200
        assert "codename" in response.read().decode()
        connection.close()
    log = server.log.read_text(errors="replace")

    # Then the log has no time of day, and nothing about the submission
    assert "Booting worker" in log, "the log was captured"
    assert not TIME_OF_DAY.search(log), TIME_OF_DAY.search(log)
    for telltale in ("received", "file(s)", "/request", "POST", "ms\n", str(len(body)), "123457", "246914"):
        assert telltale not in log, f"{telltale!r} in the log"
