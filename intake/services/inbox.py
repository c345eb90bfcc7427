"""The inbox: metadata from columns, triage from summaries decrypted for this request.

Ordering by last activity and the status, assignee and new-activity filters
run in the database, and then only the rows on the page are decrypted.
Ordering by urgency has to read open cases' summaries (urgency is never
stored in plaintext), and filtering by help type every candidate's: both
read the SCAN_LIMIT most recently active ones, in memory, forgotten with the
request, and the page says when that limit was reached. Closed cases always
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
# Summaries decrypted at most per page view for urgency order or the help-type
# filter: about a millisecond each (docs/benchmarks.md), so about a second.
SCAN_LIMIT = 1000
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
    # Urgency order or the help-type filter read only the SCAN_LIMIT most recently active cases.
    scan_limited: bool


def inbox(session: Session, viewer: User, identity: Identity, filters: InboxFilters, page: int) -> InboxPage:
    candidates = _candidates(viewer, filters)
    ordered = _ordered(candidates, filters.order)
    if filters.help_kind is not None:
        scanned = _decrypt(session, ordered.limit(SCAN_LIMIT), identity)
        matching = [row for row in scanned if row.summary and row.summary.help_kind == filters.help_kind]
        return _page(
            session, _sorted(matching, filters.order), None, identity, page, len(scanned) == SCAN_LIMIT
        )
    if filters.order is InboxOrder.URGENCY and filters.status is not CaseStatus.CLOSED:
        # `ordered` lists open cases first, so these are exactly its first rows.
        scanned = _decrypt(
            session, ordered.where(Case.status != CaseStatus.CLOSED).limit(SCAN_LIMIT), identity
        )
        return _page(
            session, _sorted(scanned, filters.order), ordered, identity, page, len(scanned) == SCAN_LIMIT
        )
    return _page(session, [], ordered, identity, page, False)


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


def _ordered(query: CandidateQuery, order: InboxOrder) -> CandidateQuery:
    if order is InboxOrder.URGENCY:
        query = query.order_by(Case.status == CaseStatus.CLOSED)
    return query.order_by(Case.last_activity_day.desc(), Case.number.desc())


def _decrypt(session: Session, query: CandidateQuery, identity: Identity) -> list[InboxRow]:
    return [_row(row, identity) for row in session.execute(query)]


def _sorted(rows: list[InboxRow], order: InboxOrder) -> list[InboxRow]:
    """Rows already in `_ordered` order; sorted() is stable, so urgency keeps it within a rank."""
    if order is InboxOrder.ACTIVITY:
        return rows
    return sorted(rows, key=lambda row: (row.status is CaseStatus.CLOSED, urgency_rank(row.summary)))


def _page(
    session: Session,
    decrypted: Sequence[InboxRow],
    ordered: CandidateQuery | None,
    identity: Identity,
    page: int,
    scan_limited: bool,
) -> InboxPage:
    """A page of `decrypted` (the first rows of `ordered`, re-sorted), then the rest of `ordered`."""
    total = len(decrypted)
    if ordered is not None:
        total = session.scalar(select(func.count()).select_from(ordered.order_by(None).subquery())) or 0
    page_count = max(1, -(-total // INBOX_PAGE_SIZE))
    page = min(max(page, 1), page_count)
    start = (page - 1) * INBOX_PAGE_SIZE
    rows = list(decrypted[start : start + INBOX_PAGE_SIZE])
    room = INBOX_PAGE_SIZE - len(rows)
    if room and ordered is not None:
        rest = ordered.offset(max(start, len(decrypted))).limit(room)
        rows += _decrypt(session, rest, identity)
    return InboxPage(rows=rows, page=page, page_count=page_count, total=total, scan_limited=scan_limited)


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
