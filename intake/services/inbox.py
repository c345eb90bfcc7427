"""The inbox: metadata from columns, triage from summaries decrypted for this lawyer.

Every query works on `cases` alone, through its indexes, and meets the joins
(assignee, this lawyer's seen marker, summary) only for the rows it keeps:
counting or skipping 100,000 cases never joins them first. "New activity
only" probes the lawyer's seen markers (models.SeenCase) by the case number
the index already holds.

Ordering by last activity and the status, assignee and new-activity filters
run in the database, and then only the rows on the page are decrypted.
Ordering by urgency has to know open cases' urgency (it is never stored in
plaintext), and filtering by help type every candidate's: both read the
SCAN_LIMIT most recently active ones, and the page says when that limit was
reached. Opened summaries are kept in this process's memory for the key that
opened them (intake.services.opened_summaries), so only the first view after
unlocking pays for decrypting them. Closed cases always come after open ones
when ordering by urgency: their urgency is history.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, UnaryExpression, and_, func, select
from sqlalchemy.orm import Session

from crypto import Identity
from intake.models import Case, CaseStatus, CaseSummary, SeenCase, User
from intake.services.opened_summaries import HEAD_BYTES, OPENED_SUMMARIES
from intake.services.summaries import SummaryPayload, urgency_rank

INBOX_PAGE_SIZE = 50
# Summaries read at most per page view for urgency order or the help-type
# filter: on a cold cache about a millisecond each (docs/benchmarks.md).
SCAN_LIMIT = 1000
# Any SELECT over `cases`; SQLAlchemy types each column list differently.
_Query = Select[*tuple[Any, ...]]
# As a list of values, not "!= closed": both databases count them within the
# status indexes, where an inequality made them read every row.
_OPEN_STATUSES = [status for status in CaseStatus if status is not CaseStatus.CLOSED]


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


@dataclass(frozen=True)
class _Segment:
    """Case numbers in the order the inbox lists them, less the first `skip` (already shown)."""

    ids: _Query
    skip: int = 0


@dataclass(frozen=True)
class _Candidate:
    """A case picked for scanning: enough to sort it and to find its row later."""

    number: int
    closed: bool
    summary: SummaryPayload | None


def inbox(session: Session, viewer: User, identity: Identity, filters: InboxFilters, page: int) -> InboxPage:
    by_activity = _by_activity(filters)
    # Numbers, not ids: a thousand ints load faster than a thousand UUIDs.
    matching = _filtered(select(Case.number), viewer, filters)
    if filters.help_kind is None and (
        filters.order is InboxOrder.ACTIVITY or filters.status is CaseStatus.CLOSED
    ):
        return _page(session, viewer, identity, [], [_Segment(matching.order_by(*by_activity))], page, False)
    # 80 bytes per case, not the whole ciphertext: enough to know an opened summary again.
    head = func.substr(CaseSummary.ciphertext, 1, HEAD_BYTES).label("head")
    scan = _filtered(
        select(Case.number, Case.status, head).outerjoin(CaseSummary, CaseSummary.case_id == Case.id),
        viewer,
        filters,
    )
    open_first = filters.help_kind is None or filters.order is InboxOrder.URGENCY
    if open_first:
        # Open cases first (a closed case's urgency is history), then, for the help-type
        # filter, closed ones while the limit allows: two index scans, never a sort of all.
        scans = [scan.where(Case.status.in_(_OPEN_STATUSES))]
        if filters.help_kind is not None:
            scans.append(scan.where(Case.status == CaseStatus.CLOSED))
    else:
        scans = [scan]
    rows: list[Row[Any]] = []
    for query in scans:
        rows += session.execute(query.order_by(*by_activity).limit(SCAN_LIMIT - len(rows))).all()
        if len(rows) == SCAN_LIMIT:
            break
    scanned = _opened(session, identity, rows)
    scan_limited = len(scanned) == SCAN_LIMIT
    picked = scanned
    rest: list[_Segment] = []
    if filters.help_kind is not None:
        picked = [candidate for candidate in scanned if _has_help_kind(candidate, filters.help_kind)]
    else:
        # After the open cases read for urgency: any open ones beyond the limit, then the
        # closed ones, each by activity (one index each; no sort of every case).
        if scan_limited:
            open_cases = matching.where(Case.status.in_(_OPEN_STATUSES)).order_by(*by_activity)
            rest.append(_Segment(open_cases, skip=len(scanned)))
        rest.append(_Segment(matching.where(Case.status == CaseStatus.CLOSED).order_by(*by_activity)))
    if filters.order is InboxOrder.URGENCY:
        # sorted() is stable: within an urgency, latest activity stays first.
        picked = sorted(picked, key=lambda candidate: (candidate.closed, urgency_rank(candidate.summary)))
    return _page(session, viewer, identity, picked, rest, page, scan_limited)


def _opened(session: Session, identity: Identity, rows: Sequence[Row[Any]]) -> list[_Candidate]:
    """Candidates from (number, status, head) rows: summaries opened lately come from memory,
    the others are fetched whole, in one query, and opened."""
    summaries: dict[int, SummaryPayload | None] = {}
    unopened = []
    for row in rows:
        found, summary = OPENED_SUMMARIES.known(identity, row.number, row.head)
        if found:
            summaries[row.number] = summary
        else:
            unopened.append(row.number)
    if unopened:
        fetched = session.execute(
            select(Case.number, CaseSummary.ciphertext)
            .join(CaseSummary, CaseSummary.case_id == Case.id)
            .where(Case.number.in_(unopened))
        )
        for number, ciphertext in fetched:
            summaries[number] = OPENED_SUMMARIES.open(identity, number, ciphertext)
    return [
        _Candidate(row.number, row.status is CaseStatus.CLOSED, summaries.get(row.number)) for row in rows
    ]


def _by_activity(filters: InboxFilters) -> tuple[UnaryExpression[Any], ...]:
    latest_first = (Case.last_activity_day.desc(), Case.number.desc())
    if filters.unassigned_only:
        # PostgreSQL does not take "assignee_id IS NULL" as fixing the column for the
        # order, as it does "= x": named, it reads the assignee indexes in order, not sorts.
        return (Case.assignee_id.desc(), *latest_first)
    return latest_first


def _filtered(query: _Query, viewer: User, filters: InboxFilters) -> _Query:
    """`query` (over `cases`) narrowed to the cases that pass the filters."""
    if filters.status is not None:
        query = query.where(Case.status == filters.status)
    if filters.unassigned_only:
        query = query.where(Case.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        query = query.where(Case.assignee_id == filters.assignee_id)
    if filters.new_activity_only:
        query = query.where(~select(SeenCase.case_number).where(_seen_by(viewer)).exists())
    return query


def _seen_by(viewer: User) -> ColumnElement[bool]:
    return and_(SeenCase.user_id == viewer.id, SeenCase.case_number == Case.number)


def _has_help_kind(candidate: _Candidate, help_kind: str) -> bool:
    return candidate.summary is not None and candidate.summary.help_kind == help_kind


def _page(
    session: Session,
    viewer: User,
    identity: Identity,
    picked: Sequence[_Candidate],
    rest: Sequence[_Segment],
    page: int,
    scan_limited: bool,
) -> InboxPage:
    """A page of the list made of `picked` (already sorted), then each segment of `rest` in turn."""
    lengths = [
        max(
            0,
            (session.scalar(select(func.count()).select_from(segment.ids.order_by(None).subquery())) or 0)
            - segment.skip,
        )
        for segment in rest
    ]
    total = len(picked) + sum(lengths)
    page_count = max(1, -(-total // INBOX_PAGE_SIZE))
    page = min(max(page, 1), page_count)
    start = (page - 1) * INBOX_PAGE_SIZE
    numbers = [candidate.number for candidate in picked[start : start + INBOX_PAGE_SIZE]]
    segment_start = len(picked)
    for segment, length in zip(rest, lengths, strict=True):
        room = INBOX_PAGE_SIZE - len(numbers)
        offset = max(start, segment_start) - segment_start
        if room and offset < length:
            rows = session.execute(segment.ids.offset(segment.skip + offset).limit(room))
            numbers += [number for (number,) in rows]
        segment_start += length
    return InboxPage(
        rows=_rows(session, viewer, identity, numbers),
        page=page,
        page_count=page_count,
        total=total,
        scan_limited=scan_limited,
    )


def _rows(session: Session, viewer: User, identity: Identity, numbers: Sequence[int]) -> list[InboxRow]:
    """The inbox rows of these cases, in this order: the only query that joins."""
    if not numbers:
        return []
    query: _Query = (
        select(
            Case.number,
            Case.created_day,
            Case.last_activity_day,
            Case.status,
            User.email,
            Case.item_count,
            SeenCase.case_number.label("seen"),
            CaseSummary.ciphertext,
        )
        .outerjoin(User, User.id == Case.assignee_id)
        .outerjoin(SeenCase, _seen_by(viewer))
        .outerjoin(CaseSummary, CaseSummary.case_id == Case.id)
        .where(Case.number.in_(numbers))
    )
    by_number = {row.number: row for row in session.execute(query)}
    return [
        InboxRow(
            number=row.number,
            created_day=row.created_day,
            last_activity_day=row.last_activity_day,
            status=row.status,
            assignee_email=row.email,
            item_count=row.item_count,
            unread=row.seen is None,
            summary=OPENED_SUMMARIES.open(identity, row.number, row.ciphertext),
        )
        for row in (by_number[number] for number in numbers if number in by_number)
    ]
