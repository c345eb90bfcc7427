"""Which cases are new to which lawyer: seen markers follow reads and new activity."""

from __future__ import annotations

import threading
import time

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from intake.db import session_factory
from intake.models import Case, SeenCase
from intake.services.cases import add_note, read_case
from intake.services.seen_cases import mark_seen
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.helpers import submit_directly


def seen_by(session: Session) -> list[tuple[str, int]]:
    session.expire_all()
    rows = session.scalars(select(SeenCase)).all()
    return sorted((row.user_id.hex, row.case_number) for row in rows)


def test_a_note_is_new_to_colleagues_who_had_seen_the_case_but_not_to_its_author(
    db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    colleague = create_lawyer(db_session, email="colleague@example.org")
    number = submit_directly(db_session, config, "request").number
    case = db_session.scalars(select(Case).where(Case.number == number)).one()
    read_case(db_session, case, lawyer.user, lawyer.identity)
    read_case(db_session, case, colleague.user, colleague.identity)
    assert seen_by(db_session) == sorted([(lawyer.user.id.hex, number), (colleague.user.id.hex, number)])

    add_note(db_session, case, lawyer.user, "checked the unit")

    assert seen_by(db_session) == [(lawyer.user.id.hex, number)]


def test_a_case_loaded_before_new_activity_is_not_marked_seen(
    app: Flask, db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    colleague = create_lawyer(db_session, email="colleague@example.org")
    number = submit_directly(db_session, config, "request").number
    # Given a lawyer's page loaded the case as it was
    loaded = db_session.scalars(select(Case).where(Case.number == number)).one()
    db_session.commit()

    # When a colleague adds a note before that view records itself
    with session_factory(app)() as other:
        add_note(other, other.scalars(select(Case).where(Case.number == number)).one(), colleague.user, "new")
    mark_seen(db_session, loaded, lawyer.user.id)
    db_session.commit()

    # Then the note stays new to the lawyer
    assert seen_by(db_session) == [(colleague.user.id.hex, number)]


def test_the_same_case_opened_twice_at_once_is_marked_seen_once(
    app: Flask, db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    number = submit_directly(db_session, config, "request").number
    db_session.commit()
    # Given the case open in two tabs, both views loaded it before either recorded itself
    with session_factory(app)() as first_tab, session_factory(app)() as second_tab:
        first = first_tab.scalars(select(Case).where(Case.number == number)).one()
        second = second_tab.scalars(select(Case).where(Case.number == number)).one()
        mark_seen(first_tab, first, lawyer.user.id)
        # When the second records itself while the first has not committed yet
        # (on PostgreSQL it waits for the first; on SQLite for the write lock)
        errors: list[BaseException] = []

        def second_view() -> None:
            try:
                mark_seen(second_tab, second, lawyer.user.id)
                second_tab.commit()
            except BaseException as error:
                errors.append(error)

        waiting = threading.Thread(target=second_view)
        waiting.start()
        time.sleep(0.5)
        first_tab.commit()
        waiting.join(timeout=30)

    # Then neither view failed and the case is seen once
    assert not waiting.is_alive()
    assert errors == []
    assert seen_by(db_session) == [(lawyer.user.id.hex, number)]
