"""Request logs record method, route, status and time: never who, from where, or what."""

from __future__ import annotations

import logging

import pytest
from flask.testing import FlaskClient


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
