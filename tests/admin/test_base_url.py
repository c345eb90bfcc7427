"""Printed links point where staff really are: production must be told the address."""

from __future__ import annotations

from pathlib import Path

from intake import create_app
from tests.conftest import make_config


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
