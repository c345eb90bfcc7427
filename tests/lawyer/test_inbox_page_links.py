"""The inbox's Previous and Next links: they carry the key of the row next to the page they
lead to, list the same pages as typed `?page=N`, and keep the place when cases move."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from intake.models import Case, CaseStatus, CaseSummary, SeenCase, Source
from intake.services import inbox as inbox_service
from intake.services.keyring import submission_recipients
from intake.services.summaries import SummaryPayload, seal_summary
from tests.factories import LawyerFixture, source_rows

URGENCIES = ["weeks", "danger_now", "days"]
# Open, closed and nobody's cases; urgency sorts the most recently active open ones.
FILTERS = [
    "",
    "order=activity",
    "status=closed",
    "assignee=nobody",
    "assignee=nobody&order=activity",
    "new=y",
    "new=y&order=activity",
]


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pages of three, urgency read for four cases: every page below the fourth row is read
    # from the database, in segments of open and closed cases.
    monkeypatch.setattr(inbox_service, "INBOX_PAGE_SIZE", 3)
    monkeypatch.setattr(inbox_service, "SCAN_LIMIT", 4)


def add_cases(session: Session, lawyer: LawyerFixture, count: int) -> None:
    """`count` cases in one insert each for sources, cases and summaries: open and closed,
    mine and nobody's, several on one day (so the number breaks ties), some seen by me."""
    recipients = submission_recipients(session)
    assert recipients is not None
    today = dt.date.today()
    sources = source_rows(count, today)
    cases = [
        {
            "id": uuid.uuid4(),
            "number": index + 1,
            "source_id": source["id"],
            "status": CaseStatus.CLOSED if index % 5 in (1, 3) else CaseStatus.NEW,
            "assignee_id": lawyer.user.id if index % 3 == 0 else None,
            "created_day": today,
            "last_activity_day": today - dt.timedelta(days=index % 4),
            "activity_seq": 1,
            "item_count": 1,
        }
        for index, source in enumerate(sources)
    ]
    summaries = [
        {
            "case_id": case["id"],
            "ciphertext": seal_summary(
                SummaryPayload("other", URGENCIES[index % 3], "", "ru"), recipients.recipients
            ),
        }
        for index, case in enumerate(cases)
    ]
    session.execute(insert(Source), sources)
    session.execute(insert(Case), cases)
    session.execute(insert(CaseSummary), summaries)
    seen = [
        {
            "user_id": lawyer.user.id,
            "case_number": case["number"],
            "case_status": case["status"],
            "case_assignee_id": case["assignee_id"],
        }
        for case in cases[::4]
    ]
    session.execute(insert(SeenCase), seen)
    session.commit()


def numbers_on(page: str) -> list[int]:
    return [int(number) for number in re.findall(r'href="/lawyer/cases/(\d+)"', page.split("<tbody>")[1])]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return None if found is None else html.unescape(found[1])


def get(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def typed_pages(client: FlaskClient, filters: str) -> list[list[int]]:
    first = get(client, f"/lawyer/?{filters}")
    count = int(re.search(r"Page 1 of (\d+)", first)[1])  # type: ignore[index]
    return [numbers_on(get(client, f"/lawyer/?{filters}&page={page}")) for page in range(1, count + 1)]


@pytest.mark.parametrize("filters", FILTERS, ids=lambda filters: filters or "urgency")
def test_next_and_previous_links_walk_the_same_pages_as_typed_page_numbers(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, filters: str
) -> None:
    # Given 40 cases in pages of three, more open ones than urgency is read for
    add_cases(db_session, lawyer, 40)
    typed = typed_pages(lawyer_client, filters)
    assert len(typed) > 3

    # When the lawyer follows Next from the first page to the last
    path: str | None = f"/lawyer/?{filters}"
    followed, next_links = [], []
    while path is not None:
        page = get(lawyer_client, path)
        followed.append(numbers_on(page))
        path = link(page, "next")
        next_links.append(path)

    # Then the pages are the typed ones, every case once, and the links read on from a key
    assert followed == typed
    listed = [number for numbers in followed for number in numbers]
    assert len(listed) == len(set(listed))
    assert sum("&after=" in path or "?after=" in path for path in next_links if path) >= len(typed) - 3

    # And Previous from the last page walks back through the same pages
    walked_back = [followed[-1]]
    path = link(page, "prev")
    while path is not None:
        page = get(lawyer_client, path)
        walked_back.append(numbers_on(page))
        path = link(page, "prev")
    assert walked_back[::-1] == typed
    assert link(get(lawyer_client, f"/lawyer/?{filters}&page={len(typed)}"), "next") is None


def second_page_link(client: FlaskClient, filters: str) -> tuple[list[int], str]:
    first = get(client, f"/lawyer/?{filters}")
    next_link = link(first, "next")
    assert next_link is not None and "after=" in next_link
    return numbers_on(first), next_link


def test_a_case_moving_to_the_top_meanwhile_does_not_repeat_the_last_row_seen(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session
) -> None:
    # Given the first page by activity and its Next link
    add_cases(db_session, lawyer, 12)
    first, next_link = second_page_link(lawyer_client, "order=activity")
    before = numbers_on(get(lawyer_client, next_link))

    # When a case's activity moves it from the second page to the top
    moved = before[1]
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    db_session.execute(update(Case).where(Case.number == moved).values(last_activity_day=tomorrow))
    db_session.commit()

    # Then the link still leads on from the last row the lawyer saw: no row of the first
    # page again, and the rows after the moved one move up
    after = numbers_on(get(lawyer_client, next_link))
    assert not set(after) & set(first)
    assert after[:2] == [before[0], before[2]]
    # (a typed page number shows the first page's last row again)
    assert numbers_on(get(lawyer_client, "/lawyer/?order=activity&page=2"))[0] == first[-1]
    # And Previous from there leads to the top of the list, where the moved case now is
    previous = link(get(lawyer_client, next_link), "prev")
    assert previous is not None and "before=" in previous
    assert numbers_on(get(lawyer_client, previous)) == [moved, *first[:2]]


@pytest.mark.parametrize("change", ["moved", "deleted"])
def test_a_link_whose_case_moved_or_went_still_leads_to_its_neighbours(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, change: str
) -> None:
    # Given the first page of closed cases and its Next link, keyed by the page's last row
    add_cases(db_session, lawyer, 20)
    first, next_link = second_page_link(lawyer_client, "status=closed")
    expected = numbers_on(get(lawyer_client, next_link))

    # When that case is reopened, or deleted
    keyed = Case.number == first[-1]
    if change == "moved":
        db_session.execute(update(Case).where(keyed).values(status=CaseStatus.IN_PROGRESS))
    else:
        db_session.execute(delete(SeenCase).where(SeenCase.case_number == first[-1]))
        db_session.execute(delete(CaseSummary).where(CaseSummary.case_id.in_(select(Case.id).where(keyed))))
        db_session.execute(delete(Case).where(keyed))
    db_session.commit()

    # Then the next page still starts after its place, as it did
    assert numbers_on(get(lawyer_client, next_link)) == expected


def test_a_link_past_the_end_shows_the_last_page_without_next(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session
) -> None:
    add_cases(db_session, lawyer, 12)
    last = typed_pages(lawyer_client, "order=activity")[-1]

    # A page number beyond the count gives the last page, whatever the key says
    beyond = get(lawyer_client, "/lawyer/?order=activity&page=50&after=2000-01-01.1")
    assert numbers_on(beyond) == last and link(beyond, "next") is None

    # A key older than every case gives an empty page that is still a page
    empty = get(lawyer_client, "/lawyer/?order=activity&page=2&after=2000-01-01.1")
    assert numbers_on(empty) == [] and "Page 2 of 4" in empty


@pytest.mark.parametrize(
    "query",
    [
        "after=x",
        "after=2026-13-01.5",
        "after=2026-01-01",
        "after=2026-01-01.",
        "after=2026-01-01.-5",
        "after=2026-01-01.0",
        "after=2026-01-01.5.6",
        "after=2026-1-01.5",
        "after=%EF%BC%92026-01-01.5",
        "after=2026-01-01.99999999999999999999",
        "after=2026-01-01.9223372036854775808",
        "before=2026-01-01.5x",
        "after=2026-01-01.5&before=2026-01-01.4",
    ],
)
def test_a_garbled_cursor_is_a_bad_request(lawyer_client: FlaskClient, query: str) -> None:
    assert lawyer_client.get(f"/lawyer/?page=2&{query}").status_code == 400
