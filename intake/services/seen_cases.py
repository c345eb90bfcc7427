"""Which cases a lawyer has seen up to their latest activity (models.SeenCase).

A row says "seen as it is now": reading a case adds it, new activity on the
case removes everybody's, so the inbox never compares counters.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from intake.models import Case, SeenCase


def mark_seen(session: Session, case: Case, user_id: uuid.UUID) -> None:
    """Record that `user_id` has seen `case` as loaded: nothing if activity came in since.

    Inserted only while the case's activity_seq is still the one loaded, and
    under a share lock on PostgreSQL, so an item added meanwhile (its writer
    holds the row for update and then deletes the rows) leaves the case new.
    A row that is already there (the same case open in two tabs at once) is
    left as it is. The row's copies of the case's status and assignee come
    from the row read under that lock: a change to them waits for this
    transaction, and its trigger then rewrites this row too.
    """
    current = (
        select(literal(user_id), Case.number, Case.status, Case.assignee_id)
        .where(Case.number == case.number, Case.activity_seq == case.activity_seq)
        .with_for_update(read=True)
    )
    columns = [SeenCase.user_id, SeenCase.case_number, SeenCase.case_status, SeenCase.case_assignee_id]
    statement = _insert_for(session)(SeenCase).from_select(columns, current)
    session.execute(statement.on_conflict_do_nothing())


def forget_seen(session: Session, case: Case) -> None:
    """New activity on `case`: it is new again to every lawyer."""
    session.execute(delete(SeenCase).where(SeenCase.case_number == case.number))


def _insert_for(session: Session) -> Callable[[type[SeenCase]], postgresql.Insert | sqlite.Insert]:
    """The dialect's INSERT, which can skip a row already there (both spell it ON CONFLICT DO NOTHING)."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
