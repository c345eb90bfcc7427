"""deploy/container-check's HTTP step, run here against the front server and gunicorn without Docker.

The container check submits through the front (nginx) as tor forwards to it,
and sends the malformed request that gunicorn must log without an address to
gunicorn itself. The same commands of deploy/smoke_checks.py run here, from
outside the source tree, against tests/servers.py's front() and gunicorn().
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.conftest import ROOT
from tests.servers import Front, Gunicorn, front, gunicorn
from tests.submit.helpers import create_readers

SMOKE_CHECKS = ROOT / "deploy" / "smoke_checks.py"


@pytest.fixture
def app_server(tmp_path: Path, database_url: str) -> Iterator[Gunicorn]:
    with gunicorn(tmp_path, database_url) as server:
        yield server


@pytest.fixture
def front_server(tmp_path: Path, app_server: Gunicorn) -> Iterator[Front]:
    with front(tmp_path, app_server) as server:
        yield server


def smoke(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    run_dir = tmp_path / "smoke-run"
    run_dir.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, str(SMOKE_CHECKS), *args], cwd=run_dir, capture_output=True, text=True, timeout=300
    )


def test_the_help_request_goes_through_the_front_and_gunicorn_logs_no_address(
    front_server: Front, app_server: Gunicorn, db_session: Session, tmp_path: Path
) -> None:
    create_readers(db_session)

    through_front = smoke(tmp_path, "http", f"http://127.0.0.1:{front_server.public_port}", "--front")
    assert through_front.returncode == 0, through_front.stdout + through_front.stderr
    assert "answered through the front server" in through_front.stdout
    assert "submitted a help request with one file" in through_front.stdout

    invalid = smoke(tmp_path, "invalid-request", f"http://127.0.0.1:{app_server.public_port}")
    assert invalid.returncode == 0, invalid.stderr
    log = smoke(tmp_path, "log-is-clean", str(app_server.log))
    assert log.returncode == 0, log.stdout + log.stderr


def test_the_front_check_fails_when_gunicorn_answers_directly(
    app_server: Gunicorn, db_session: Session, tmp_path: Path
) -> None:
    create_readers(db_session)

    direct = smoke(tmp_path, "http", f"http://127.0.0.1:{app_server.public_port}", "--front")

    assert direct.returncode == 1
    assert "was not answered through the front server" in direct.stderr
