"""Retention: expired closed cases leave no rows, files or readable bytes behind."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.orm import Session

from config import Config, ConfigError
from intake import create_app
from intake.db import engine, session_factory
from intake.models import (
    NOBODY,
    Attachment,
    AuditEvent,
    Case,
    CaseStatus,
    CaseTally,
    Item,
    ItemRecipient,
    SeenCase,
    Source,
)
from intake.services.blobstore import BlobStore
from intake.services.cases import set_status
from intake.services.clock import utc_now
from intake.services.retention import purge_expired_cases
from intake.services.seen_cases import mark_seen
from tests.conftest import make_config
from tests.factories import LawyerFixture, create_lawyer, set_recovery_key, source_rows
from tests.lawyer.helpers import submit_directly
from tests.submit.multipart import help_request_parts, post_parts, request_tokens

TODAY = dt.date(2026, 3, 1)
RETENTION_DAYS = 30


@dataclass(frozen=True)
class StoredCase:
    id: uuid.UUID
    number: int
    source_id: uuid.UUID
    item_ids: list[uuid.UUID]
    blob_names: list[str]
    item_ciphertext: bytes


def create_lawyer_with_recovery(session: Session) -> LawyerFixture:
    """A vetted lawyer and a recovery key: what submissions need to be encrypted to."""
    set_recovery_key(session)
    return create_lawyer(session)


@pytest.fixture
def lawyer(db_session: Session) -> LawyerFixture:
    return create_lawyer_with_recovery(db_session)


@pytest.fixture
def store(config: Config) -> BlobStore:
    return BlobStore(config.blob_dir)


def stored_case(
    session: Session,
    config: Config,
    reader: LawyerFixture,
    status: CaseStatus,
    last_activity_day: dt.date,
    message: str = "please help",
) -> StoredCase:
    """A submitted case with two attachments, read by `reader`, then aged and given `status`."""
    submitted = submit_directly(
        session,
        config,
        message,
        files=[("a.pdf", "application/pdf", b"%PDF first"), ("b.jpg", "image/jpeg", b"\xff\xd8 second")],
    )
    case = session.scalars(select(Case).where(Case.number == submitted.number)).one()
    case.status = status
    case.last_activity_day = last_activity_day
    mark_seen(session, case, reader.user.id)
    session.commit()
    blob_names = list(
        session.scalars(select(Attachment.blob_name).join(Attachment.item).where(Item.case_id == case.id))
    )
    assert len(blob_names) == 2
    return StoredCase(
        id=case.id,
        number=case.number,
        source_id=case.source_id,
        item_ids=[item.id for item in case.items],
        blob_names=blob_names,
        item_ciphertext=case.items[0].ciphertext,
    )


def rows_left(session: Session, case: StoredCase) -> dict[str, int]:
    """Every row that belonged to `case`, counted per table."""
    counts = {
        "cases": select(func.count()).select_from(Case).where(Case.id == case.id),
        "sources": select(func.count()).select_from(Source).where(Source.id == case.source_id),
        "items": select(func.count()).select_from(Item).where(Item.id.in_(case.item_ids)),
        "item_recipients": select(func.count())
        .select_from(ItemRecipient)
        .where(ItemRecipient.item_id.in_(case.item_ids)),
        "seen_cases": select(func.count()).select_from(SeenCase).where(SeenCase.case_number == case.number),
        "attachments": select(func.count())
        .select_from(Attachment)
        .where(Attachment.blob_name.in_(case.blob_names)),
    }
    left = {table: session.scalar(query) or 0 for table, query in counts.items()}
    session.commit()
    return left


def files_present(store: BlobStore, case: StoredCase) -> list[bool]:
    return [store.path_of(name).exists() for name in case.blob_names]


def purge_audit_details(session: Session) -> list[str | None]:
    details = list(
        session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "retention.purged").order_by(AuditEvent.id)
        )
    )
    session.commit()
    return details


def test_closed_case_past_retention_is_purged_rows_files_and_all(
    db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    expired = stored_case(
        db_session, config, lawyer, CaseStatus.CLOSED, TODAY - dt.timedelta(days=RETENTION_DAYS + 1)
    )
    assert set(rows_left(db_session, expired).values()) == {1, 2}

    report = purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY)

    assert (report.cases, report.attachment_files) == (1, 2)
    assert set(rows_left(db_session, expired).values()) == {0}
    assert files_present(store, expired) == [False, False]
    assert purge_audit_details(db_session) == ["1 case"]
    # The audit event says how many, never which.
    event = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "retention.purged")).one()
    assert event.case_number is None and event.actor_id is None


def test_recent_closed_and_old_open_cases_are_kept(
    db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    long_ago = TODAY - dt.timedelta(days=10 * RETENTION_DAYS)
    kept = [
        stored_case(db_session, config, lawyer, CaseStatus.CLOSED, TODAY - dt.timedelta(days=3)),
        stored_case(db_session, config, lawyer, CaseStatus.NEW, long_ago),
        stored_case(db_session, config, lawyer, CaseStatus.IN_PROGRESS, long_ago),
        stored_case(db_session, config, lawyer, CaseStatus.WAITING_FOR_SUBMITTER, long_ago),
    ]

    report = purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY)

    assert (report.cases, report.attachment_files) == (0, 0)
    for case in kept:
        left = rows_left(db_session, case)
        assert (left["cases"], left["sources"], left["items"], left["attachments"]) == (1, 1, 1, 2)
        assert files_present(store, case) == [True, True]
    assert purge_audit_details(db_session) == []


def test_a_closed_case_is_kept_through_its_last_retention_day(
    db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    last_kept_day = TODAY - dt.timedelta(days=RETENTION_DAYS)
    on_the_day = stored_case(db_session, config, lawyer, CaseStatus.CLOSED, last_kept_day)
    one_day_over = stored_case(
        db_session, config, lawyer, CaseStatus.CLOSED, last_kept_day - dt.timedelta(days=1)
    )

    report = purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY)

    assert report.cases == 1
    assert rows_left(db_session, on_the_day)["cases"] == 1
    assert rows_left(db_session, one_day_over)["cases"] == 0
    # The next day the survivor's time is up too.
    assert purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY + dt.timedelta(days=1)).cases == 1
    assert rows_left(db_session, on_the_day)["cases"] == 0


def test_closing_a_quiet_case_starts_its_retention_period(
    db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    quiet = stored_case(
        db_session, config, lawyer, CaseStatus.IN_PROGRESS, utc_now().date() - dt.timedelta(days=365)
    )
    case = db_session.get(Case, quiet.id)
    assert case is not None

    set_status(db_session, case, lawyer.user, CaseStatus.CLOSED)

    assert purge_expired_cases(db_session, store, RETENTION_DAYS, utc_now().date()).cases == 0
    assert rows_left(db_session, quiet)["cases"] == 1


def test_purge_is_idempotent(
    db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    old = TODAY - dt.timedelta(days=2 * RETENTION_DAYS)
    stored_case(db_session, config, lawyer, CaseStatus.CLOSED, old)
    stored_case(db_session, config, lawyer, CaseStatus.CLOSED, old)

    first = purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY)
    second = purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY)

    assert (first.cases, first.attachment_files) == (2, 4)
    assert (second.cases, second.attachment_files) == (0, 0)
    assert purge_audit_details(db_session) == ["2 cases"]


def test_sqlite_forgets_the_purged_ciphertext_bytes(
    db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    if not config.database_url.startswith("sqlite"):
        pytest.skip("secure_delete and the WAL file are SQLite's")
    database_path = Path(config.database_url.removeprefix("sqlite:///"))
    # Long enough to spill into overflow pages, which are freed (not rewritten) on delete.
    expired = stored_case(
        db_session,
        config,
        lawyer,
        CaseStatus.CLOSED,
        TODAY - dt.timedelta(days=RETENTION_DAYS + 1),
        message="distinctive words " * 2000,
    )
    middle = len(expired.item_ciphertext) // 2
    distinctive_slice = expired.item_ciphertext[middle : middle + 64]
    assert distinctive_slice in sqlite_file_bytes(database_path)

    report = purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY)

    assert report.cases == 1 and not report.sqlite_wal_busy
    assert distinctive_slice not in sqlite_file_bytes(database_path)


def sqlite_file_bytes(database_path: Path) -> bytes:
    """The database file and its WAL: everything SQLite keeps on disk."""
    wal_path = database_path.with_name(database_path.name + "-wal")
    wal_bytes = wal_path.read_bytes() if wal_path.exists() else b""
    return database_path.read_bytes() + wal_bytes


@pytest.fixture
def retention_app(tmp_path: Path, database_url: str) -> Iterator[Flask]:
    app = create_app(make_config(tmp_path, database_url, INTAKE_RETENTION_DAYS=str(RETENTION_DAYS)))
    yield app
    engine(app).dispose()


def test_sweep_command_purges_then_removes_orphans_and_says_how_many(
    retention_app: Flask, tmp_path: Path
) -> None:
    config: Config = retention_app.config["INTAKE"]
    store = BlobStore(config.blob_dir)
    with session_factory(retention_app)() as session:
        reader = create_lawyer_with_recovery(session)
        expired = stored_case(
            session,
            config,
            reader,
            CaseStatus.CLOSED,
            utc_now().date() - dt.timedelta(days=RETENTION_DAYS + 1),
        )
        kept = stored_case(session, config, reader, CaseStatus.CLOSED, utc_now().date())
    # A blob an interrupted upload published but never committed a row for.
    with store.writer() as blob:
        blob.write(b"age ciphertext nobody refers to")
        orphan = store.path_of(blob.publish())

    first = retention_app.test_cli_runner().invoke(args=["intake", "sweep"])

    assert first.exit_code == 0, first.output
    assert "retention: deleted 1 closed case(s)" in first.output
    assert "and 2 attachment file(s)" in first.output
    assert "removed 1 orphaned blob file(s)" in first.output
    assert not orphan.exists()
    assert files_present(store, expired) == [False, False]
    assert files_present(store, kept) == [True, True]

    second = retention_app.test_cli_runner().invoke(args=["intake", "sweep"])

    assert second.exit_code == 0, second.output
    assert "retention: deleted 0 closed case(s)" in second.output
    assert "and 0 attachment file(s)" in second.output
    assert "removed 0 orphaned blob file(s)" in second.output
    assert files_present(store, kept) == [True, True]


def test_sweep_command_without_retention_deletes_no_case(
    app: Flask, db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    ancient = stored_case(db_session, config, lawyer, CaseStatus.CLOSED, dt.date(2000, 1, 1))

    result = app.test_cli_runner().invoke(args=["intake", "sweep"])

    assert result.exit_code == 0, result.output
    assert "retention: not configured, closed cases are kept" in result.output
    assert "removed 0 orphaned blob file(s)" in result.output
    assert rows_left(db_session, ancient)["cases"] == 1
    assert files_present(store, ancient) == [True, True]


def test_retention_days_is_read_from_the_environment(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    assert make_config(tmp_path, url).retention_days is None
    assert make_config(tmp_path, url, INTAKE_RETENTION_DAYS="90").retention_days == 90


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be positive"),
        ("-7", "must be positive"),
        ("90d", "must be an integer"),
        ("", "must be an integer"),
    ],
)
def test_retention_days_must_be_a_positive_integer(tmp_path: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"INTAKE_RETENTION_DAYS {message}"):
        make_config(tmp_path, f"sqlite:///{tmp_path / 'unused.sqlite3'}", INTAKE_RETENTION_DAYS=value)


def test_a_purged_case_number_is_never_given_to_a_new_case(
    client: FlaskClient, db_session: Session, store: BlobStore, lawyer: LawyerFixture, config: Config
) -> None:
    # Given the newest case, closed long ago and purged
    expired = stored_case(
        db_session, config, lawyer, CaseStatus.CLOSED, TODAY - dt.timedelta(days=RETENTION_DAYS + 1)
    )
    purged_number = db_session.scalars(select(Case.number).where(Case.id == expired.id)).one()
    purge_expired_cases(db_session, store, RETENTION_DAYS, TODAY)

    # When somebody new writes in through the form
    response = post_parts(client, "/request", help_request_parts(request_tokens(client, "/request")))
    assert response.status_code == 200

    # Then their case gets a fresh number, not the purged one
    numbers = list(db_session.scalars(select(Case.number)))
    db_session.commit()
    assert numbers == [purged_number + 1]


def test_a_purge_and_a_lawyers_move_wait_for_each_other_without_deadlock(
    app: Flask, db_session: Session, store: BlobStore, lawyer: LawyerFixture
) -> None:
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: its writers take turns (intake.write_turns)")
    # Given two expired closed cases, the lawyer's met first by any scan (first inserted,
    # lowest id and number, same day) and then an unassigned one
    old_day = TODAY - dt.timedelta(days=RETENTION_DAYS + 1)
    sources = source_rows(2, old_day)
    db_session.execute(insert(Source), sources)
    db_session.execute(
        insert(Case),
        [
            {
                "id": uuid.UUID(int=number),
                "number": number,
                "source_id": source["id"],
                "status": CaseStatus.CLOSED,
                "assignee_id": assignee_id,
                "created_day": old_day,
                "last_activity_day": old_day,
                "activity_seq": 1,
                "item_count": 0,
            }
            for number, source, assignee_id in ((1, sources[0], lawyer.user.id), (2, sources[1], None))
        ],
    )
    db_session.commit()

    def tally_locked(connection: Connection, assignee_key: uuid.UUID) -> None:
        connection.execute(
            select(CaseTally.case_count)
            .where(CaseTally.status == CaseStatus.CLOSED, CaseTally.assignee_key == assignee_key)
            .with_for_update()
        )

    # And a lawyer's move between the two tallies (say, giving an unassigned closed case
    # to the lawyer) halfway: it took the lower row, (closed, nobody), as every move does first
    errors: list[BaseException] = []
    with engine(app).connect() as move:
        move.execute(text("SET lock_timeout = '20s'"))
        tally_locked(move, NOBODY)

        # When the purge starts meanwhile and has to wait
        def purge() -> None:
            with session_factory(app)() as purging:
                try:
                    purge_expired_cases(purging, store, RETENTION_DAYS, TODAY)
                except BaseException as error:  # noqa: BLE001 - reported by the main thread
                    errors.append(error)

        purging_thread = threading.Thread(target=purge)
        purging_thread.start()
        with engine(app).connect() as watcher:
            deadline = time.monotonic() + 20
            while not watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                assert time.monotonic() < deadline, "the purge never waited for the move"
                time.sleep(0.05)

        # Then the move still takes its second row, (closed, the lawyer), and commits: the purge
        # waits holding no tally row, instead of holding the lawyer's and being aborted with it
        tally_locked(move, lawyer.user.id)
        move.commit()
    purging_thread.join(30)
    assert not purging_thread.is_alive()
    assert errors == []

    # And then the purge went on and deleted both cases, and the tallies say so
    assert db_session.scalar(select(func.count()).select_from(Case)) == 0
    assert db_session.scalar(select(func.coalesce(func.sum(CaseTally.case_count), 0))) == 0
    db_session.commit()
