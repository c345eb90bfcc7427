"""A (re)started server holds no server half of any unlocked key."""

from __future__ import annotations

import datetime as dt
import importlib
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from intake.models import AuditEvent, LawyerSession
from tests.conftest import TEST_SECRET
from tests.factories import create_lawyer


def test_gunicorn_start_ends_every_staff_session(
    db_session: Session, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a staff session left from before the restart
    lawyer = create_lawyer(db_session)
    now = dt.datetime.now(dt.UTC)
    db_session.add(
        LawyerSession(
            id="left-from-before", user_id=lawyer.user.id, sealed_identity=b"x", created_at=now, last_seen_at=now
        )
    )
    db_session.commit()

    # When gunicorn's master starts with the production settings file
    for name, value in {
        "INTAKE_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": database_url,
    }.items():
        monkeypatch.setenv(name, value)
    gunicorn_settings = importlib.import_module("config.gunicorn")
    # on_starting also sets the master's umask; keep this test process's own.
    previous_umask = os.umask(0o022)
    try:
        gunicorn_settings.on_starting(server=None)
    finally:
        os.umask(previous_umask)

    # Then the session is gone, and the audit log says so (counts only)
    assert db_session.scalar(select(func.count()).select_from(LawyerSession)) == 0
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "sessions.ended_all")).one()
    assert event.detail == "1"
