"""The inbox: metadata from columns, triage from summaries decrypted for this request.

Ordering by last activity and the status, assignee and new-activity filters
run in the database, and then only the rows on the page are decrypted.
Ordering by urgency has to read every open case's summary (urgency is never
stored in plaintext), and filtering by help type every candidate's; both
happen in memory and are forgotten with the request. Closed cases always
come after open ones when ordering by urgency: their urgency is history.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from crypto import Identity
from intake.models import Case, CaseRead, CaseStatus, CaseSummary, User
from intake.services.summaries import SummaryPayload, open_summary, urgency_rank

INBOX_PAGE_SIZE = 50
# The inbox columns of the cases that match the filters.
CandidateQuery = Select[*tuple[Any, ...]]


class InboxOrder(enum.Enum):
    URGENCY = "urgency"
    ACTIVITY = "activity"


@dataclass(frozen=True)
class InboxFilters:
    status: CaseStatus | None = None
    # Only this lawyer's cases; or, with unassigned_only, only cases nobody has.
    assignee_id: uuid.UUID | None = None
    unassigned_only: bool = False
    help_kind: str | None = None
    # Only cases with something this lawyer has not seen yet.
    new_activity_only: bool = False
    order: InboxOrder = InboxOrder.URGENCY


@dataclass(frozen=True)
class InboxRow:
    number: int
    created_day: dt.date
    last_activity_day: dt.date
    status: CaseStatus
    assignee_email: str | None
    item_count: int
    unread: bool
    # None for cases from before summaries, or when this lawyer's key cannot open it.
    summary: SummaryPayload | None

    @property
    def urgent(self) -> bool:
        return self.summary is not None and self.summary.urgent and self.status is not CaseStatus.CLOSED


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    page: int
    page_count: int
    total: int


def inbox(
    session: Session, viewer: User, identity: Identity, filters: InboxFilters, page: int
) -> InboxPage:
    candidates = _candidates(viewer, filters)
    if filters.help_kind is not None:
        matching = [
            row
            for row in _decrypt_all(session, candidates, identity)
            if row.summary is not None and row.summary.help_kind == filters.help_kind
        ]
        return _page(session, _sorted(matching, filters.order), None, identity, page)
    if filters.order is InboxOrder.URGENCY and filters.status is not CaseStatus.CLOSED:
        open_rows = _decrypt_all(session, candidates.where(Case.status != CaseStatus.CLOSED), identity)
        closed = None if filters.status is not None else candidates.where(Case.status == CaseStatus.CLOSED)
        return _page(session, _sorted(open_rows, filters.order), closed, identity, page)
    return _page(session, [], candidates, identity, page)


def _candidates(viewer: User, filters: InboxFilters) -> CandidateQuery:
    query: CandidateQuery = (
        select(
            Case.number,
            Case.created_day,
            Case.last_activity_day,
            Case.status,
            User.email,
            Case.item_count,
            Case.activity_seq,
            CaseRead.seen_seq,
            CaseSummary.ciphertext,
        )
        .outerjoin(User, User.id == Case.assignee_id)
        .outerjoin(CaseRead, and_(CaseRead.case_id == Case.id, CaseRead.user_id == viewer.id))
        .outerjoin(CaseSummary, CaseSummary.case_id == Case.id)
    )
    if filters.status is not None:
        query = query.where(Case.status == filters.status)
    if filters.unassigned_only:
        query = query.where(Case.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        query = query.where(Case.assignee_id == filters.assignee_id)
    if filters.new_activity_only:
        query = query.where(or_(CaseRead.seen_seq.is_(None), CaseRead.seen_seq < Case.activity_seq))
    return query


def _by_activity(query: CandidateQuery) -> CandidateQuery:
    return query.order_by(Case.last_activity_day.desc(), Case.number.desc())


def _decrypt_all(session: Session, query: CandidateQuery, identity: Identity) -> list[InboxRow]:
    return [_row(row, identity) for row in session.execute(_by_activity(query))]


def _sorted(rows: list[InboxRow], order: InboxOrder) -> list[InboxRow]:
    """Rows already in activity order; sorted() is stable, so urgency keeps it within a rank."""
    if order is InboxOrder.ACTIVITY:
        return rows
    return sorted(rows, key=lambda row: (row.status is CaseStatus.CLOSED, urgency_rank(row.summary)))


def _page(
    session: Session,
    decrypted: Sequence[InboxRow],
    then_by_activity: CandidateQuery | None,
    identity: Identity,
    page: int,
) -> InboxPage:
    """A page of `decrypted` followed by `then_by_activity`, paged in the database."""
    paged_total = 0
    if then_by_activity is not None:
        paged_total = session.scalar(select(func.count()).select_from(then_by_activity.subquery())) or 0
    total = len(decrypted) + paged_total
    page_count = max(1, -(-total // INBOX_PAGE_SIZE))
    page = min(max(page, 1), page_count)
    start = (page - 1) * INBOX_PAGE_SIZE
    rows = list(decrypted[start : start + INBOX_PAGE_SIZE])
    room = INBOX_PAGE_SIZE - len(rows)
    if room and then_by_activity is not None:
        offset = max(0, start - len(decrypted))
        query = _by_activity(then_by_activity).offset(offset).limit(room)
        rows += [_row(row, identity) for row in session.execute(query)]
    return InboxPage(rows=rows, page=page, page_count=page_count, total=total)


def _row(row: Row[Any], identity: Identity) -> InboxRow:
    return InboxRow(
        number=row.number,
        created_day=row.created_day,
        last_activity_day=row.last_activity_day,
        status=row.status,
        assignee_email=row.email,
        item_count=row.item_count,
        unread=row.seen_seq is None or row.seen_seq < row.activity_seq,
        summary=open_summary(row.ciphertext, [identity.secret]),
    )
