"""Inbox counts: tallies of cases, less the lawyer's seen rows for "new", all kept by triggers.

The inbox sums the case_tallies rows of the matching statuses and assignee,
and counts a lawyer's new cases as those less their seen rows whose copy of
the case's status and assignee matches. These tests compare every count and
every listed page with a count made case by case, and the tallies with a
GROUP BY, after each kind of change a case's status, assignee or seen rows
go through.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from sqlalchemy import Uuid, bindparam, delete, func, select, text
from sqlalchemy.orm import Session

from config import Config
from intake.models import NOBODY, Case, CaseStatus, CaseTally, SeenCase, User
from intake.services import inbox as inbox_service
from intake.services.blobstore import BlobStore
from intake.services.cases import add_note, assign, set_status
from intake.services.inbox import InboxFilters, InboxOrder, inbox
from intake.services.keyring import submission_recipients
from intake.services.retention import purge_expired_cases
from intake.services.seen_cases import mark_seen
from intake.services.submissions import add_follow_up
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.helpers import submit_directly


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages of three, and urgency read for one case at most: every count the inbox makes
    # (open cases beyond the one read, closed ones, all) decides what a page lists.
    monkeypatch.setattr(inbox_service, "INBOX_PAGE_SIZE", 3)
    monkeypatch.setattr(inbox_service, "SCAN_LIMIT", 1)


def case_of(session: Session, number: int) -> Case:
    return session.scalars(select(Case).where(Case.number == number)).one()


def every_filter(lawyer: User, colleague: User) -> list[InboxFilters]:
    assignees = [(None, False), (lawyer.id, False), (colleague.id, False), (None, True)]
    return [
        InboxFilters(
            status=status,
            assignee_id=assignee_id,
            unassigned_only=unassigned_only,
            new_activity_only=new_activity_only,
            order=order,
        )
        for status, (assignee_id, unassigned_only), new_activity_only, order in itertools.product(
            [None, *CaseStatus], assignees, [False, True], InboxOrder
        )
    ]


def expected_numbers(session: Session, viewer: User, filters: InboxFilters) -> set[int]:
    """The cases that pass `filters`, decided one by one."""
    seen = set(session.scalars(select(SeenCase.case_number).where(SeenCase.user_id == viewer.id)))
    return {
        number
        for number, status, assignee_id in session.execute(select(Case.number, Case.status, Case.assignee_id))
        if (filters.status is None or status is filters.status)
        and (assignee_id is None if filters.unassigned_only else filters.assignee_id in (None, assignee_id))
        and not (filters.new_activity_only and number in seen)
    }


def assert_counts_match(session: Session, viewer: LawyerFixture, colleague: User) -> None:
    session.commit()
    session.expire_all()
    # Every seen row's copies are its case's
    copies = session.execute(
        select(SeenCase.case_status, SeenCase.case_assignee_id, Case.status, Case.assignee_id).join(
            Case, Case.number == SeenCase.case_number
        )
    ).all()
    assert [(row[0], row[1]) for row in copies] == [(row[2], row[3]) for row in copies]
    # The tallies are the cases by status and assignee
    tallied = session.execute(select(CaseTally.status, CaseTally.assignee_key, CaseTally.case_count)).all()
    grouped = session.execute(
        select(Case.status, Case.assignee_id, func.count()).group_by(Case.status, Case.assignee_id)
    ).all()
    assert {(status, key): count for status, key, count in tallied if count} == {
        (status, assignee_id or NOBODY): count for status, assignee_id, count in grouped
    }
    for filters in every_filter(viewer.user, colleague):
        expected = expected_numbers(session, viewer.user, filters)
        first = inbox(session, viewer.user, viewer.identity, filters, 1)
        listed = list(first.rows)
        for page in range(2, first.page_count + 1):
            listed += inbox(session, viewer.user, viewer.identity, filters, page).rows
        numbers = [row.number for row in listed]
        assert (first.total, sorted(numbers)) == (len(expected), sorted(expected)), filters


def test_new_activity_counts_follow_status_assignee_reads_follow_ups_and_retention(
    db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    colleague = create_lawyer(db_session, email="colleague@example.org")
    # Given twelve cases, every status paired with every assignee (the lawyer, the colleague,
    # nobody), some of them seen by the lawyer and others by the colleague
    numbers = [submit_directly(db_session, config, f"request {index}").number for index in range(12)]
    statuses = [CaseStatus.NEW, CaseStatus.CLOSED, CaseStatus.IN_PROGRESS, CaseStatus.CLOSED]
    assignees = [None, lawyer.user.id, colleague.user.id]
    for index, number in enumerate(numbers):
        case = case_of(db_session, number)
        case.status = statuses[index % len(statuses)]
        case.assignee_id = assignees[index % len(assignees)]
    db_session.commit()
    for index in (0, 1, 2, 3, 5, 8, 10):
        mark_seen(db_session, case_of(db_session, numbers[index]), lawyer.user.id)
    for number in numbers[1::2]:
        mark_seen(db_session, case_of(db_session, number), colleague.user.id)
    assert_counts_match(db_session, lawyer, colleague.user)

    # When seen cases change status (closed, reopened, waiting)
    set_status(db_session, case_of(db_session, numbers[0]), lawyer.user, CaseStatus.CLOSED)
    set_status(db_session, case_of(db_session, numbers[1]), lawyer.user, CaseStatus.IN_PROGRESS)
    set_status(db_session, case_of(db_session, numbers[5]), lawyer.user, CaseStatus.WAITING_FOR_SUBMITTER)
    assert_counts_match(db_session, lawyer, colleague.user)

    # When seen cases change hands, and one goes to nobody
    assign(db_session, case_of(db_session, numbers[0]), lawyer.user, colleague.user.id)
    assign(db_session, case_of(db_session, numbers[3]), lawyer.user, lawyer.user.id)
    assign(db_session, case_of(db_session, numbers[10]), lawyer.user, None)
    assert_counts_match(db_session, lawyer, colleague.user)

    # When the submitter of a closed case the lawyer had seen writes again: it reopens, new
    recipients = submission_recipients(db_session)
    assert recipients is not None
    add_follow_up(db_session, case_of(db_session, numbers[0]).source_id, recipients, "still here", [])
    assert case_of(db_session, numbers[0]).status is CaseStatus.IN_PROGRESS
    assert_counts_match(db_session, lawyer, colleague.user)

    # When the lawyer reads it again, and a colleague's note makes another case new
    mark_seen(db_session, case_of(db_session, numbers[0]), lawyer.user.id)
    add_note(db_session, case_of(db_session, numbers[2]), colleague.user, "called the unit")
    assert_counts_match(db_session, lawyer, colleague.user)

    # When retention deletes a closed case the lawyer had seen
    expired = case_of(db_session, numbers[3])
    set_status(db_session, expired, lawyer.user, CaseStatus.CLOSED)
    expired.last_activity_day = dt.date.today() - dt.timedelta(days=400)
    db_session.commit()
    report = purge_expired_cases(db_session, BlobStore(config.blob_dir), 30, dt.date.today())
    assert report.cases == 1
    assert_counts_match(db_session, lawyer, colleague.user)


def test_the_copies_follow_cases_changed_in_plain_sql(
    db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    colleague = create_lawyer(db_session, email="colleague@example.org")
    numbers = [submit_directly(db_session, config, f"request {index}").number for index in range(3)]
    for number in numbers:
        mark_seen(db_session, case_of(db_session, number), lawyer.user.id)
    assert_counts_match(db_session, lawyer, colleague.user)

    # When cases are closed, reassigned and reopened by statements no service wrote
    status_only = text("UPDATE cases SET status = :status WHERE number = :number")
    status_and_assignee = text(
        "UPDATE cases SET status = :status, assignee_id = :assignee_id WHERE number = :number"
    ).bindparams(bindparam("assignee_id", type_=Uuid))
    for number, status, assignee_id in [
        (numbers[0], "closed", colleague.user.id),
        (numbers[1], "new", lawyer.user.id),
        (numbers[2], "in_progress", colleague.user.id),
    ]:
        db_session.execute(
            status_and_assignee, {"number": number, "status": status, "assignee_id": assignee_id}
        )
    db_session.execute(status_only, {"number": numbers[2], "status": "waiting_for_submitter"})
    assert_counts_match(db_session, lawyer, colleague.user)

    # When the colleague's account is deleted: their cases go to nobody (ON DELETE SET NULL)
    db_session.execute(delete(User).where(User.id == colleague.user.id))
    db_session.commit()
    assert case_of(db_session, numbers[0]).assignee_id is None
    replacement = create_lawyer(db_session, email="replacement@example.org")
    assert_counts_match(db_session, lawyer, replacement.user)
