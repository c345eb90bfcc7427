"""The inbox: metadata from columns, triage from summaries decrypted for this lawyer.

Every query works on `cases` alone, through its indexes, and meets the joins
(assignee, this lawyer's seen marker, summary) only for the rows it keeps:
counting or skipping 100,000 cases never joins them first. A page of "new
activity only" probes the lawyer's seen markers (models.SeenCase) by the
case number the index already holds; its count is the matching cases less
the lawyer's markers whose case matches (each marker carries its case's
status and assignee), two counts within an index each. Previous and Next
links carry the key of the row next to the page they lead to
(services.inbox_cursor), so a page reached by them reads on from that key
instead of skipping the rows before it.

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
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, Select, and_, func, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from crypto import Identity
from intake.models import NOBODY, OPEN_CASE, Case, CaseStatus, CaseSummary, CaseTally, SeenCase, User
from intake.services.inbox_cursor import NO_CURSOR, ActivityKey, PageCursor
from intake.services.opened_summaries import HEAD_BYTES, OPENED_SUMMARIES
from intake.services.summaries import SummaryPayload, urgency_rank

INBOX_PAGE_SIZE = 50
# Summaries read at most per page view for urgency order or the help-type
# filter: on a cold cache about a millisecond each (docs/benchmarks.md).
SCAN_LIMIT = 1000
# Any SELECT over `cases`; SQLAlchemy types each column list differently.
_Query = Select[*tuple[Any, ...]]
# The columns the inbox orders by, latest activity first when descending.
_Order = tuple[InstrumentedAttribute[Any], ...]
# Counted as a list of values, which both databases count within the status
# indexes; listed in order as models.OPEN_CASE, which walks the open cases'
# activity index (SQLite sorts every open case for the list of values).
_OPEN_STATUSES = [status for status in CaseStatus if status is not CaseStatus.CLOSED]
# A page that skips more rows than this reads "new activity only" as "not among the
# lawyer's seen numbers" (_filtered's `skipping_far`).
FAR_SKIP_ROWS = 2000


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
    # The first and last rows' places, for the Previous and Next links; None for a row
    # sorted by urgency, which has no place in an index.
    first_key: ActivityKey | None
    last_key: ActivityKey | None


@dataclass(frozen=True)
class _Segment:
    """`length` case numbers of `ids`, latest activity first by `order`, after the first `skip`
    (already shown)."""

    ids: _Query
    # The same numbers, phrased for a read that skips far (FAR_SKIP_ROWS).
    far_ids: _Query
    order: _Order
    length: int
    skip: int = 0

    def numbers(
        self,
        session: Session,
        offset: int,
        take: int,
        after: ActivityKey | None = None,
        before: ActivityKey | None = None,
    ) -> list[int]:
        """`take` numbers from `offset` on; at least `take` remain there.

        `after` is the row just before `offset`, `before` the one just after the last
        taken, when a Previous or Next link says so: the read then starts from that key
        in the index and skips nothing, however deep the page. Only the day and number
        are compared: the unassigned filter's leading assignee_id is NULL throughout.
        """
        key = tuple_(Case.last_activity_day, Case.number)
        if after is not None:
            below = self.ids.where(key < tuple_(after.last_activity_day, after.number))
            return [number for (number,) in session.execute(_latest_first(below, self.order).limit(take))]
        if before is not None:
            above = self.ids.where(key > tuple_(before.last_activity_day, before.number))
            rows = session.execute(above.order_by(*(column.asc() for column in self.order)).limit(take))
            return [number for (number,) in rows][::-1]
        from_end = self.length - offset - take
        if from_end < offset:
            # Nearer the end: read back from there, so the last page costs what the first
            # does (OFFSET walks every row it skips) and no page skips more than half.
            oldest_first = self._ids(from_end).order_by(*(column.asc() for column in self.order))
            rows = session.execute(oldest_first.offset(from_end).limit(take))
            return [number for (number,) in rows][::-1]
        skipped = self.skip + offset
        rows = session.execute(_latest_first(self._ids(skipped), self.order).offset(skipped).limit(take))
        return [number for (number,) in rows]

    def _ids(self, skipped: int) -> _Query:
        return self.far_ids if skipped > FAR_SKIP_ROWS else self.ids


class _Candidate(NamedTuple):
    """A case picked for scanning: enough to sort it and to find its row later.

    A tuple, not a dataclass: a thousand are made per view."""

    number: int
    closed: bool
    summary: SummaryPayload | None


def inbox(
    session: Session,
    viewer: User,
    identity: Identity,
    filters: InboxFilters,
    page: int,
    cursor: PageCursor = NO_CURSOR,
) -> InboxPage:
    order = _activity_order(filters)
    # Numbers, not ids: a thousand ints load faster than a thousand UUIDs.
    matching = _filtered(select(Case.number), viewer, filters)
    matching_far = _filtered(select(Case.number), viewer, filters, skipping_far=True)
    if filters.help_kind is None and (
        filters.order is InboxOrder.ACTIVITY or filters.status is CaseStatus.CLOSED
    ):
        everything = _Segment(matching, matching_far, order, _count_matching(session, viewer, filters))
        return _page(session, viewer, identity, [], [everything], page, cursor, False)
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
        scans = [scan.where(OPEN_CASE)]
        if filters.help_kind is not None:
            scans.append(scan.where(Case.status == CaseStatus.CLOSED))
    else:
        scans = [scan]
    rows: list[Row[Any]] = []
    for query in scans:
        rows += session.execute(_latest_first(query, order).limit(SCAN_LIMIT - len(rows))).all()
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
        # closed ones, each by activity (one index each; no sort of every case). The closed
        # ones are counted as all matching cases less the open ones.
        open_count = len(scanned)
        if scan_limited:
            open_count = _count_matching(session, viewer, filters, _OPEN_STATUSES)
            rest.append(
                _Segment(
                    matching.where(OPEN_CASE),
                    matching_far.where(OPEN_CASE),
                    order,
                    open_count - len(scanned),
                    skip=len(scanned),
                )
            )
        is_closed = Case.status == CaseStatus.CLOSED
        closed_count = _count_matching(session, viewer, filters) - open_count
        rest.append(_Segment(matching.where(is_closed), matching_far.where(is_closed), order, closed_count))
    if filters.order is InboxOrder.URGENCY:
        # sorted() is stable: within an urgency, latest activity stays first.
        picked = sorted(picked, key=lambda candidate: (candidate.closed, urgency_rank(candidate.summary)))
    return _page(session, viewer, identity, picked, rest, page, cursor, scan_limited)


def _opened(session: Session, identity: Identity, rows: Sequence[Row[Any]]) -> list[_Candidate]:
    """Candidates from (number, status, head) rows: summaries opened lately come from memory,
    the others are fetched whole, in one query, and opened."""
    # Plain tuples first: reading a Row's fields by name costs a microsecond or more each.
    scanned: list[tuple[Any, ...]] = [tuple(row) for row in rows]
    summaries = OPENED_SUMMARIES.known(identity, [(number, head) for number, _, head in scanned])
    unopened = [number for number, _, _ in scanned if number not in summaries]
    if unopened:
        fetched = session.execute(
            select(Case.number, CaseSummary.ciphertext)
            .join(CaseSummary, CaseSummary.case_id == Case.id)
            .where(Case.number.in_(unopened))
        )
        summaries |= OPENED_SUMMARIES.open_many(identity, [(number, ciphertext) for number, ciphertext in fetched])
    closed = CaseStatus.CLOSED
    return [_Candidate(number, status is closed, summaries.get(number)) for number, status, _ in scanned]


def _count_matching(
    session: Session, viewer: User, filters: InboxFilters, statuses: Sequence[CaseStatus] | None = None
) -> int:
    """How many cases pass the filters (help type aside), of `statuses` if given.

    The cases that pass are summed from the few case_tallies rows of their
    statuses and assignee (models.CaseTally), not counted in an index. "New
    activity only" is those less this lawyer's seen rows whose case passes
    (each row carries its case's status and assignee), counted within an
    index. Asking of every case whether the lawyer has seen it probed
    seen_cases once per case: 64 ms for one lawyer's new cases at 100,000 (SQLite).
    """
    tallied = select(func.coalesce(func.sum(CaseTally.case_count), 0))
    seen = select(func.count()).select_from(SeenCase).where(SeenCase.user_id == viewer.id)
    if filters.status is not None:
        tallied = tallied.where(CaseTally.status == filters.status)
        seen = seen.where(SeenCase.case_status == filters.status)
    if statuses is not None:
        tallied = tallied.where(CaseTally.status.in_(statuses))
        seen = seen.where(SeenCase.case_status.in_(statuses))
    if filters.unassigned_only:
        tallied = tallied.where(CaseTally.assignee_key == NOBODY)
        seen = seen.where(SeenCase.case_assignee_id.is_(None))
    elif filters.assignee_id is not None:
        tallied = tallied.where(CaseTally.assignee_key == filters.assignee_id)
        seen = seen.where(SeenCase.case_assignee_id == filters.assignee_id)
    cases = session.scalar(tallied) or 0
    if not filters.new_activity_only:
        return cases
    return cases - (session.scalar(seen) or 0)


def _activity_order(filters: InboxFilters) -> _Order:
    by_activity = (Case.last_activity_day, Case.number)
    if filters.unassigned_only:
        # PostgreSQL does not take "assignee_id IS NULL" as fixing the column for the
        # order, as it does "= x": named, it reads the assignee indexes in order, not sorts.
        return (Case.assignee_id, *by_activity)
    return by_activity


def _latest_first(query: _Query, order: _Order) -> _Query:
    return query.order_by(*(column.desc() for column in order))


def _filtered(query: _Query, viewer: User, filters: InboxFilters, skipping_far: bool = False) -> _Query:
    """`query` (over `cases`) narrowed to the cases that pass the filters.

    `skipping_far` phrases "new activity only" for a page that skips many rows:
    as NOT EXISTS, PostgreSQL hash-joins every case with the lawyer's seen rows
    and sorts them (68 ms for page 500 of 1,000 at 100,000 cases); as NOT IN, it
    hashes the seen numbers once and walks the activity index in order (21 ms).
    The hash costs about 10 ms, which a shallow page need not pay. SQLite runs
    both in the same time.
    """
    if filters.status is not None:
        query = query.where(Case.status == filters.status)
    if filters.unassigned_only:
        query = query.where(Case.assignee_id.is_(None))
    elif filters.assignee_id is not None:
        query = query.where(Case.assignee_id == filters.assignee_id)
    if filters.new_activity_only and skipping_far:
        query = query.where(
            Case.number.not_in(select(SeenCase.case_number).where(SeenCase.user_id == viewer.id))
        )
    elif filters.new_activity_only:
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
    cursor: PageCursor,
    scan_limited: bool,
) -> InboxPage:
    """A page of the list made of `picked` (already sorted), then each segment of `rest` in turn.

    The cursor's key stands for the row next to the page in the segment where the page
    starts (`after`) or ends (`before`), wherever that is: the counts place the page, the
    key only where a segment is read from. A page past the end, as cases went meanwhile,
    is the last one, read by position; the first page is always the top of the list,
    which reading by position gives at no cost.
    """
    lengths = [max(0, segment.length) for segment in rest]
    total = len(picked) + sum(lengths)
    page_count = max(1, -(-total // INBOX_PAGE_SIZE))
    if not 1 < page <= page_count:
        cursor = NO_CURSOR
    page = min(max(page, 1), page_count)
    start = (page - 1) * INBOX_PAGE_SIZE
    picked_numbers = [candidate.number for candidate in picked[start : start + INBOX_PAGE_SIZE]]
    numbers = list(picked_numbers)
    segment_start = len(picked)
    for segment, length in zip(rest, lengths, strict=True):
        room = INBOX_PAGE_SIZE - len(numbers)
        offset = max(start, segment_start) - segment_start
        if room and offset < length:
            take = min(room, length - offset)
            numbers += segment.numbers(
                session,
                offset,
                take,
                after=cursor.after if offset > 0 else None,
                before=cursor.before if offset + take < length else None,
            )
        segment_start += length
    rows = _rows(session, viewer, identity, numbers)
    keys = [
        ActivityKey(row.last_activity_day, row.number) for row in rows if row.number not in picked_numbers
    ]
    return InboxPage(
        rows=rows,
        page=page,
        page_count=page_count,
        total=total,
        scan_limited=scan_limited,
        first_key=keys[0] if keys and not picked_numbers else None,
        last_key=keys[-1] if keys else None,
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
    summaries = OPENED_SUMMARIES.open_many(identity, [(row.number, row.ciphertext) for row in by_number.values()])
    return [
        InboxRow(
            number=row.number,
            created_day=row.created_day,
            last_activity_day=row.last_activity_day,
            status=row.status,
            assignee_email=row.email,
            item_count=row.item_count,
            unread=row.seen is None,
            summary=summaries[row.number],
        )
        for row in (by_number[number] for number in numbers if number in by_number)
    ]
