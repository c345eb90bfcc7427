"""Every Alembic revision goes up and down, on SQLite and on PostgreSQL when it answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from intake import migrate
from intake.models import Base
from tests.conftest import POSTGRES_URL

MIGRATIONS_DATABASE = "intake_migrations_test"


def _postgres_scratch_url() -> Iterator[str]:
    assert POSTGRES_URL is not None
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {MIGRATIONS_DATABASE}"))
        connection.execute(text(f"CREATE DATABASE {MIGRATIONS_DATABASE}"))
    yield make_url(POSTGRES_URL).set(database=MIGRATIONS_DATABASE).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {MIGRATIONS_DATABASE} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    elif POSTGRES_URL is None:
        pytest.skip("PostgreSQL run: set INTAKE_TEST_DATABASE_URL (make test-postgres does)")
    else:
        yield from _postgres_scratch_url()


def _revisions(database_url: str) -> list[str]:
    scripts = ScriptDirectory.from_config(migrate.alembic_config(database_url))
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def _schema_drift(database_url: str) -> list[object]:
    engine = create_engine(database_url)
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    return drift


def test_every_revision_upgrades_and_downgrades(scratch_database_url: str) -> None:
    revisions = _revisions(scratch_database_url)
    assert revisions, "no migrations found"
    for revision in revisions:
        migrate.upgrade(scratch_database_url, revision)
    assert _schema_drift(scratch_database_url) == []

    for previous in [*reversed(revisions[:-1]), "base"]:
        migrate.downgrade(scratch_database_url, previous)
    engine = create_engine(scratch_database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()

    migrate.upgrade(scratch_database_url)
    assert _schema_drift(scratch_database_url) == []


def test_sources_from_before_codename_version_2_are_marked_version_1(scratch_database_url: str) -> None:
    # Given a source stored by the code before version 2 (revision 0007 has no version column)
    migrate.upgrade(scratch_database_url, "0007")
    engine = create_engine(scratch_database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sources (id, codename_lookup_id, reply_recipient, created_day, session_generation)"
                " VALUES ('0b5f9a2e3c4d4e5f8a9b0c1d2e3f4a5b', :lookup_id, 'age1x', '2026-01-01', 0)"
            ),
            {"lookup_id": "a" * 64},
        )

    # When the database is upgraded
    migrate.upgrade(scratch_database_url)

    # Then that source says its lookup id is version 1's, so logins still try version 1 for it
    with engine.connect() as connection:
        assert connection.execute(text("SELECT codename_version FROM sources")).scalar_one() == 1
    engine.dispose()
