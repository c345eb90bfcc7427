"""PostgreSQL restarted under a running app: pooled connections it killed are replaced, not used.

A pooled connection idle for a moment is pinged before it is handed out
(intake.db); one the database killed is replaced then, so the first page
after a restart is served, not an error. Killing every backend of the
app's pool stands in for the restart.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from intake.db import PING_AFTER_IDLE_SECONDS, engine
from tests.factories import create_lawyer, set_recovery_key


def _backends_of(app: Flask) -> set[int]:
    with engine(app).connect() as connection:
        return {int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())}


def _kill_other_backends(database_url: str) -> int:
    killer = create_engine(database_url)
    with killer.connect() as connection:
        killed = connection.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    killer.dispose()
    return int(killed)


def test_a_connection_killed_while_idle_is_replaced_before_a_page_uses_it(
    app: Flask, client: FlaskClient, db_session: Session, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to restart")
    set_recovery_key(db_session)
    create_lawyer(db_session)
    db_session.close()
    assert client.get("/request").status_code == 200
    before = _backends_of(app)
    # Given the database killed the pool's connection while it sat idle
    assert _kill_other_backends(database_url) >= 1
    time.sleep(PING_AFTER_IDLE_SECONDS)
    # When a page needs the database
    response = client.get("/request")
    # Then it is served, on a new connection
    assert response.status_code == 200
    assert _backends_of(app).isdisjoint(before)
