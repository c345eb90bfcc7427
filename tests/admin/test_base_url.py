"""Printed links point where staff really are: production must be told the address."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from config import ConfigError
from intake import create_app
from intake.db import session_factory
from intake.models import Role
from tests.conftest import make_config
from tests.factories import create_lawyer, set_recovery_key
from tests.lawyer.helpers import csrf_token, log_in, totp_code, unescape


def test_production_invite_without_base_url_is_refused(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_config(tmp_path, database_url, INTAKE_ENV="production", INTAKE_KDF_PROFILE="production"))
    result = app.test_cli_runner().invoke(args=["intake", "invite", "someone@example.org", "--role", "lawyer"])
    assert result.exit_code != 0
    assert "--base-url" in result.output
    assert "/lawyer/enrol/" not in result.output


def test_base_url_can_come_from_the_environment(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_config(tmp_path, database_url, INTAKE_ENV="production", INTAKE_KDF_PROFILE="production"))
    onion = "http://lawyerslawyerslawyerslawyerslawyerslawyerslawyerslawy.onion"
    result = app.test_cli_runner().invoke(
        args=["intake", "invite", "someone@example.org", "--role", "lawyer"], env={"INTAKE_BASE_URL": onion}
    )
    assert result.exit_code == 0, result.output
    assert f"{onion}/lawyer/enrol/" in result.output


def _web_invite(app: Flask, db_session: Session, host: str) -> str:
    admin = create_lawyer(db_session, email="admin@example.org", role=Role.ADMIN)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    log_in(client, admin.user.email, admin.passphrase, totp_code(admin.totp_secret, None))
    page = client.get("/admin/").get_data(as_text=True)
    # The same browser session, now sent with a forged Host header
    session_cookie = client.get_cookie("__Host-intake_session")
    assert session_cookie is not None
    client.set_cookie(session_cookie.key, session_cookie.value, domain=host)
    response = client.post(
        "/admin/invites",
        base_url=f"https://{host}",
        data={"csrf_token": csrf_token(page), "email": "new@example.org", "role": "lawyer"},
    )
    match = re.search(r'<p class="codename" id="invite-url">([^<]+)</p>', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:3000]
    return unescape(match.group(1))


def test_web_invitation_links_use_the_configured_base_url(tmp_path: Path, database_url: str) -> None:
    # Given the lawyers' onion address configured, and a request with a forged Host header
    onion = "http://lawyerslawyerslawyerslawyerslawyerslawyerslawyerslawy.onion"
    app = create_app(make_config(tmp_path, database_url, INTAKE_BASE_URL=onion))
    with session_factory(app)() as db_session:
        set_recovery_key(db_session)
        url = _web_invite(app, db_session, host="evil.example")
    # Then the link points at the configured address, never at the Host header
    assert url.startswith(f"{onion}/lawyer/enrol/")
    assert "evil.example" not in url


def test_without_a_base_url_the_web_shows_a_path_not_the_host(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_config(tmp_path, database_url))
    with session_factory(app)() as db_session:
        set_recovery_key(db_session)
        url = _web_invite(app, db_session, host="evil.example")
    assert url.startswith("/lawyer/enrol/")
    assert "evil.example" not in url


def test_a_malformed_base_url_is_refused_at_start(tmp_path: Path, database_url: str) -> None:
    for bad in ("lawyers.onion", "javascript:alert(1)", "http://a.onion/path?x", "http://evil.example\r\nX: y"):
        with pytest.raises(ConfigError):
            make_config(tmp_path, database_url, INTAKE_BASE_URL=bad)
