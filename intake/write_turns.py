"""Write transactions on SQLite take turns in a queue, not in the busy handler's sleeps.

SQLite lets one writer in at a time. A writer that finds the database locked
sleeps in the busy handler, in growing steps of up to 100 ms, and tries
again; with several gunicorn workers writing at once, a writer that loses a
few races waited seconds while most waited nothing (bench/submit_bench.py:
p50 84 ms, p99 1.3 s). Here a writer first takes an exclusive flock on a
file beside the database, which the kernel hands to the next waiter as soon
as it is free, and then SQLite's write lock up front (BEGIN IMMEDIATE), so
queued writers never meet each other inside SQLite.

Only the lock's holder does anything between taking and releasing it: the
work before (key derivation, encryption) stays outside. PostgreSQL queues
its own lock waiters: there a write transaction is an ordinary one.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Connection
from sqlalchemy.orm import Session

LOCK_FILE_SUFFIX = ".write-lock"


def lock_file_path(connection: Connection) -> str | None:
    """The queue's file for an on-disk SQLite database; None for PostgreSQL or an in-memory one."""
    url = connection.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return f"{url.database}{LOCK_FILE_SUFFIX}"


@contextmanager
def writers_queue(path: str) -> Iterator[None]:
    """Hold the queue's exclusive lock, waiting in the kernel for the writers ahead.

    The file is opened anew each time: flock locks belong to an open file,
    so each thread (and each process, even one forked with a file open)
    queues on its own, and closing the file releases the lock even if the
    holder never gets to unlock it.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


@contextmanager
def write_transaction(session: Session) -> Iterator[None]:
    """The block's writes, in turn with every other write transaction; the block commits.

    Anything the block leaves uncommitted (it raised) is rolled back before
    the turn passes on. A session that has written already holds SQLite's
    write lock, so it goes on without queueing: waiting for the queue there
    would keep the writers ahead waiting for it.
    """
    connection = session.connection()
    path = lock_file_path(connection)
    with ExitStack() as turn:
        try:
            if path is not None and not _in_write_transaction(connection):
                turn.enter_context(writers_queue(path))
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield
        finally:
            if session.in_transaction():
                session.rollback()


def _in_write_transaction(connection: Connection) -> bool:
    # pysqlite opens a transaction only before a statement that writes.
    return bool(connection.connection.driver_connection.in_transaction)  # type: ignore[union-attr]
