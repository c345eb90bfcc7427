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


def _postgres_scratch_url() -> Iterator[str]:
    assert POSTGRES_URL is not None
    # Named after the test database, so runs against different test databases on one
    # server never drop each other's scratch database.
    migrations_database = f"{make_url(POSTGRES_URL).database}_migrations"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {migrations_database}"))
        connection.execute(text(f"CREATE DATABASE {migrations_database}"))
    yield make_url(POSTGRES_URL).set(database=migrations_database).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {migrations_database} WITH (FORCE)"))
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


# The inbox counts rest on these (migrations 0013 and 0015), and neither the models nor
# compare_metadata know of triggers: a later migration that rebuilds `cases` on SQLite
# drops them without a word, and only this list would say so.
_TRIGGERS = {
    "sqlite": {"cases_copy_to_seen_cases", "cases_tally_insert", "cases_tally_delete", "cases_tally_update"},
    "postgresql": {"cases_copy_to_seen_cases", "cases_tally", "cases_tally_truncate"},
}


def _triggers(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    with engine.connect() as connection:
        names = set(connection.execute(text(query)).scalars())
    engine.dispose()
    return names


def test_every_revision_upgrades_and_downgrades(scratch_database_url: str) -> None:
    revisions = _revisions(scratch_database_url)
    assert revisions, "no migrations found"
    for revision in revisions:
        migrate.upgrade(scratch_database_url, revision)
    assert _schema_drift(scratch_database_url) == []
    assert _triggers(scratch_database_url) == _TRIGGERS[make_url(scratch_database_url).get_backend_name()]

    for previous in [*reversed(revisions[:-1]), "base"]:
        migrate.downgrade(scratch_database_url, previous)
    engine = create_engine(scratch_database_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    assert _triggers(scratch_database_url) == set()

    migrate.upgrade(scratch_database_url)
    assert _schema_drift(scratch_database_url) == []
    assert _triggers(scratch_database_url) == _TRIGGERS[make_url(scratch_database_url).get_backend_name()]


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


def test_read_markers_become_seen_cases_only_while_current(scratch_database_url: str) -> None:
    # Given, before seen_cases (revision 0011), a lawyer who read case 1 as it is now
    # and case 2 before its latest activity
    migrate.upgrade(scratch_database_url, "0011")
    engine = create_engine(scratch_database_url)
    lawyer_id, first_case, second_case = (
        "1a2b3c4d5e6f40718293a4b5c6d7e8f9",
        "2a2b3c4d5e6f40718293a4b5c6d7e8f9",
        "3a2b3c4d5e6f40718293a4b5c6d7e8f9",
    )
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, email, role, status, password_hash, totp_secret_sealed,"
                " public_recipient, wrapped_private_key, failed_logins, created_day)"
                " VALUES (:id, 'lawyer@example.org', 'lawyer', 'vetted', 'x', :blob, 'age1x', :blob, 0, '2026-01-01')"
            ),
            {"id": lawyer_id, "blob": b"x"},
        )
        for number, case_id, activity_seq in ((1, first_case, 2), (2, second_case, 3)):
            source_id = f"{number}f{first_case[2:]}"
            connection.execute(
                text(
                    "INSERT INTO sources (id, codename_lookup_id, reply_recipient, created_day, session_generation)"
                    " VALUES (:id, :lookup_id, 'age1x', '2026-01-01', 0)"
                ),
                {"id": source_id, "lookup_id": str(number) * 64},
            )
            connection.execute(
                text(
                    "INSERT INTO cases (id, number, source_id, status, created_day, last_activity_day,"
                    " activity_seq, item_count) VALUES (:id, :number, :source_id, 'new', '2026-01-01',"
                    " '2026-01-01', :activity_seq, :activity_seq)"
                ),
                {"id": case_id, "number": number, "source_id": source_id, "activity_seq": activity_seq},
            )
            connection.execute(
                text("INSERT INTO case_reads (case_id, user_id, seen_seq) VALUES (:case_id, :user_id, 2)"),
                {"case_id": case_id, "user_id": lawyer_id},
            )

    # When the database is upgraded, then only the case read as it is now counts as seen
    migrate.upgrade(scratch_database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT case_number FROM seen_cases")).scalars().all() == [1]

    # When it is downgraded again, then case 1 is read up to its activity and case 2 is unread
    migrate.downgrade(scratch_database_url, "0011")
    with engine.connect() as connection:
        markers = connection.execute(
            text(
                "SELECT cases.number, case_reads.seen_seq FROM case_reads JOIN cases ON cases.id = case_reads.case_id"
            )
        ).all()
    assert [tuple(marker) for marker in markers] == [(1, 2)]
    engine.dispose()
