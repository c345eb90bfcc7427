"""Write transactions on SQLite queue for their turn across threads and processes.

No timing here: a writer must not get in while another holds the turn, must
get in once it is released (also when the holder failed), and writers in
several processes at once must all succeed. On PostgreSQL a write
transaction is an ordinary one, and the same tests check it still commits
and rolls back.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.db import make_engine, session_factory
from intake.models import InstanceKeys
from intake.services.keyring import INSTANCE_KEYS_ID, instance_keys, next_case_number
from intake.write_turns import lock_file_path, write_transaction, writers_queue

CASES_PER_PROCESS = 40


@pytest.fixture
def keys_row(db_session: Session) -> None:
    instance_keys(db_session)
    db_session.commit()


def _queue_path(session: Session) -> str | None:
    path = lock_file_path(session.connection())
    session.rollback()
    return path


@pytest.fixture
def queue_path(db_session: Session) -> str:
    path = _queue_path(db_session)
    if path is None:
        pytest.skip("PostgreSQL queues its own lock waiters")
    return path


def _turn_is_free(path: str) -> bool:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(descriptor)
    return True


def _last_case_number(session: Session) -> int:
    number = session.scalar(select(InstanceKeys.last_case_number).where(InstanceKeys.id == INSTANCE_KEYS_ID))
    session.rollback()
    return int(number or 0)


def _take_case_numbers(database_url: str, count: int, taken: multiprocessing.Queue[int]) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        for _ in range(count):
            with write_transaction(session):
                number = next_case_number(session)
                session.commit()
            taken.put(number)
    engine.dispose()


def test_writers_in_two_processes_at_once_all_commit(app: Flask, database_url: str, keys_row: None) -> None:
    context = multiprocessing.get_context("spawn")
    taken: multiprocessing.Queue[int] = context.Queue()
    writers = [
        context.Process(target=_take_case_numbers, args=(database_url, CASES_PER_PROCESS, taken))
        for _ in range(2)
    ]
    for writer in writers:
        writer.start()
    numbers = [taken.get(timeout=120) for _ in range(2 * CASES_PER_PROCESS)]
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    assert sorted(numbers) == list(range(1, 2 * CASES_PER_PROCESS + 1))


def test_the_turn_is_held_until_the_commit(app: Flask, queue_path: str, keys_row: None) -> None:
    with session_factory(app)() as session, write_transaction(session):
        next_case_number(session)
        assert not _turn_is_free(queue_path)
        session.commit()
        assert not _turn_is_free(queue_path)
    assert _turn_is_free(queue_path)


def test_a_writer_waits_for_the_turn_and_then_commits(app: Flask, queue_path: str, keys_row: None) -> None:
    def take_a_number() -> None:
        with session_factory(app)() as session, write_transaction(session):
            next_case_number(session)
            session.commit()

    writer = threading.Thread(target=take_a_number)
    with writers_queue(queue_path):
        writer.start()
        writer.join(0.5)
        assert writer.is_alive()
    writer.join(30)
    assert not writer.is_alive()
    with session_factory(app)() as session:
        assert _last_case_number(session) == 1


def test_a_failed_writer_rolls_back_and_passes_the_turn_on(
    app: Flask, database_url: str, keys_row: None
) -> None:
    with session_factory(app)() as session:
        path = _queue_path(session)
        with pytest.raises(RuntimeError), write_transaction(session):
            next_case_number(session)
            raise RuntimeError("the block failed before its commit")
        assert not session.in_transaction()
        assert path is None or _turn_is_free(path)
        assert _last_case_number(session) == 0
        with write_transaction(session):
            assert next_case_number(session) == 1
            session.commit()


def test_a_session_that_wrote_already_does_not_queue_behind_writers_waiting_for_it(
    app: Flask, queue_path: str, keys_row: None
) -> None:
    """It holds SQLite's write lock: queueing would keep the writer ahead waiting for it until SQLite gave up."""
    outcome: list[int] = []

    def finish(session: Session) -> None:
        with write_transaction(session):
            outcome.append(next_case_number(session))
            session.commit()

    with session_factory(app)() as session:
        next_case_number(session)
        writer = threading.Thread(target=finish, args=(session,))
        with writers_queue(queue_path):
            writer.start()
            writer.join(30)
            assert not writer.is_alive()
    assert outcome == [2]


def test_sqlite_syncs_every_commit(db_session: Session) -> None:
    if db_session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's setting")
    assert db_session.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_postgresql_sessions_run_no_parallel_workers(db_session: Session) -> None:
    """The inbox's short index walks ran twice as long behind a Gather that launched workers."""
    if db_session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's setting")
    assert db_session.connection().exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar() == "0"
