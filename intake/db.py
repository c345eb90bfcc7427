"""Engine and one SQLAlchemy session per request."""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

_EXTENSION_KEY = "intake.db"


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            # Every commit is synced to disk before the submitter sees a receipt;
            # under WAL, NORMAL would let a power cut take the last commits back.
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Deleted rows are overwritten, not left readable in free pages.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    engine = create_engine(database_url, connect_args={"options": POSTGRES_SESSION_OPTIONS})
    _ping_connections_idle_since_before(engine, PING_AFTER_IDLE_SECONDS)
    return engine


# No parallel workers for the app's queries. Every one of them is a short
# index walk or count; on PostgreSQL's default settings the inbox's scan of
# a thousand open cases launched a Gather Merge that took 19 ms instead of
# 10 (100,000 cases), and on a small VPS the parallel workers only take
# cores from the gunicorn workers. Operators' own queries are unaffected.
POSTGRES_SESSION_OPTIONS = "-c max_parallel_workers_per_gather=0"


# A pooled connection that has sat unused this long is pinged before it is
# handed out: the database may have restarted meanwhile. Under load every
# connection comes back within milliseconds, and pinging each checkout (four
# per help request: form, recipients, look-up, commit) cost a round trip and
# about 2 ms of a worker's CPU per request (py-spy under bench/submit_bench.py).
PING_AFTER_IDLE_SECONDS = 1.0
_CHECKED_IN_AT = "intake.checked_in_at"


def _ping_connections_idle_since_before(engine: Engine, idle_seconds: float) -> None:
    """pool_pre_ping for connections idle `idle_seconds` or longer; a dead one is replaced before use.

    A connection that died within the last `idle_seconds` fails its request
    with OperationalError (the 503 page); SQLAlchemy then sees the
    disconnect and replaces every connection in the pool.
    """

    @event.listens_for(engine, "connect")
    @event.listens_for(engine, "checkin")
    def _fresh(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is not None and time.monotonic() - checked_in_at < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool closes this connection and checks out another, as pool_pre_ping does.
            raise DisconnectionError from error


def init_app(app: Flask, database_url: str) -> None:
    engine = make_engine(database_url)
    app.extensions[_EXTENSION_KEY] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    return (app or current_app).extensions[_EXTENSION_KEY]


def engine(app: Flask | None = None) -> Engine:
    bind: Engine = session_factory(app).kw["bind"]
    return bind


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = session_factory()()
    session: Session = g.db_session
    return session


def _close_session(_error: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()
