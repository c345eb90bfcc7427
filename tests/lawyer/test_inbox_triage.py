"""Triage in the inbox: what a case is about, decrypted from its summary for the page shown."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from crypto import Identity
from intake.models import Case, CaseStatus, CaseSummary, SeenCase
from intake.services import inbox as inbox_service
from intake.services.blobstore import BlobStore
from intake.services.keyring import submission_recipients
from intake.services.rekey import rekey_case
from intake.services.seen_cases import mark_seen
from intake.services.summaries import SummaryPayload, open_summary, seal_summary
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import log_in, submit_directly, totp_code, unescape
from tests.submit.multipart import codename_on, help_request_parts, post_parts, request_tokens


def inbox_numbers(page: str) -> list[int]:
    """Case numbers in the order the inbox lists them."""
    body = page.split("<tbody>")[1]
    return [int(number) for number in re.findall(r'href="/lawyer/cases/(\d+)"', body)]


def with_summary(
    session: Session, config: Config, summary: SummaryPayload, last_activity_days_ago: int = 0
) -> int:
    """A case as the submission service now stores it, last active that many days ago."""
    submitted = submit_directly(session, config, "text", summary=False)
    case = session.scalars(select(Case).where(Case.number == submitted.number)).one()
    recipients = submission_recipients(session)
    assert recipients is not None
    session.add(CaseSummary(case_id=case.id, ciphertext=seal_summary(summary, recipients.recipients)))
    case.last_activity_day = dt.date.today() - dt.timedelta(days=last_activity_days_ago)
    session.commit()
    return submitted.number


def test_a_new_request_gets_a_summary_encrypted_like_its_items(
    lawyer_client: FlaskClient,
    new_client: NewClient,
    db_session: Session,
    lawyer: LawyerFixture,
    recovery: Identity,
) -> None:
    # Given a request sent in Russian by somebody in danger right now
    submitter = new_client()
    parts = help_request_parts(
        request_tokens(submitter, "/request?lang=ru"),
        urgency="danger_now",
        help_kind="mobilisation",
        country="Армения",
    )
    codename_on(post_parts(submitter, "/request", parts).get_data(as_text=True))

    # Then its summary is age ciphertext that the lawyer and the recovery key open
    summary_row = db_session.scalars(select(CaseSummary)).one()
    assert summary_row.ciphertext.startswith(b"age-encryption.org/v1\n")
    assert "Армения".encode() not in summary_row.ciphertext
    for identity in (lawyer.identity, recovery):
        assert open_summary(summary_row.ciphertext, [identity.secret]) == SummaryPayload(
            help_kind="mobilisation", urgency="danger_now", country="Армения", language="ru"
        )

    # And the inbox row says what the case is about, in the lawyer's language
    page = unescape(lawyer_client.get("/lawyer/").get_data(as_text=True))
    row = page.split("<tbody>")[1].split("</tr>")[0]
    assert 'class="unread urgent"' in row
    assert "I am in danger right now" in row
    assert "I am refusing mobilisation or a call-up" in row
    assert "Армения" in row and "Русский" in row


def test_urgent_open_cases_come_first_then_latest_activity(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    weeks = with_summary(
        db_session, config, SummaryPayload("other", "weeks", "", "en"), last_activity_days_ago=0
    )
    old_urgent = with_summary(db_session, config, SummaryPayload("desertion", "danger_now", "", "ru"), 5)
    days = with_summary(db_session, config, SummaryPayload("other", "days", "", "uk"), 1)
    new_urgent = with_summary(db_session, config, SummaryPayload("desertion", "danger_now", "", "ru"), 2)
    closed_urgent = with_summary(db_session, config, SummaryPayload("desertion", "danger_now", "", "ru"), 0)
    db_session.scalars(select(Case).where(Case.number == closed_urgent)).one().status = CaseStatus.CLOSED
    db_session.commit()
    # A case from before summaries existed still lists, ranked as possibly urgent
    old_style = submit_directly(db_session, config, "from before summaries", summary=False).number
    db_session.scalars(select(Case).where(Case.number == old_style)).one().last_activity_day = (
        dt.date.today() - dt.timedelta(days=3)
    )
    db_session.commit()

    page = lawyer_client.get("/lawyer/").get_data(as_text=True)
    assert inbox_numbers(page) == [new_urgent, old_urgent, days, old_style, weeks, closed_urgent]
    assert "not available" in page

    by_activity = lawyer_client.get("/lawyer/?order=activity").get_data(as_text=True)
    assert inbox_numbers(by_activity) == [closed_urgent, weeks, days, new_urgent, old_style, old_urgent]

    # The help-type filter keeps that order: open cases by urgency, the closed one after them
    desertion = lawyer_client.get("/lawyer/?help_kind=desertion").get_data(as_text=True)
    assert inbox_numbers(desertion) == [new_urgent, old_urgent, closed_urgent]


def test_pages_run_on_from_the_cases_read_for_urgency_into_the_rest(
    lawyer_client: FlaskClient, db_session: Session, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given four open cases, two closed ones, pages of two and urgency read for three cases at most
    monkeypatch.setattr(inbox_service, "INBOX_PAGE_SIZE", 2)
    monkeypatch.setattr(inbox_service, "SCAN_LIMIT", 3)
    calm = SummaryPayload("other", "weeks", "", "ru")
    urgent = SummaryPayload("other", "danger_now", "", "ru")
    open_cases = [
        with_summary(db_session, config, summary, days)
        for summary, days in ((calm, 1), (calm, 2), (urgent, 3), (urgent, 4))
    ]
    closed = [with_summary(db_session, config, urgent, days) for days in (0, 5)]
    for number in closed:
        db_session.scalars(select(Case).where(Case.number == number)).one().status = CaseStatus.CLOSED
    db_session.commit()

    # Then the three most recently active open cases come by urgency, the fourth open one
    # by activity, then the closed ones by activity, across pages
    listed = [
        number
        for page in (1, 2, 3)
        for number in inbox_numbers(lawyer_client.get(f"/lawyer/?page={page}").get_data(as_text=True))
    ]
    assert listed == [open_cases[2], open_cases[0], open_cases[1], open_cases[3], closed[0], closed[1]]
    assert "6 cases" in lawyer_client.get("/lawyer/?page=3").get_data(as_text=True)


@pytest.mark.parametrize("far_skip_rows", [inbox_service.FAR_SKIP_ROWS, 0], ids=["near", "far"])
def test_new_activity_pages_and_counts_only_what_this_lawyer_has_not_seen(
    lawyer_client: FlaskClient,
    db_session: Session,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
    far_skip_rows: int,
) -> None:
    # Given four open and three closed cases, pages of two and urgency read for two cases at most
    # (and, "far", every page past the first read as one that skips far)
    monkeypatch.setattr(inbox_service, "INBOX_PAGE_SIZE", 2)
    monkeypatch.setattr(inbox_service, "SCAN_LIMIT", 2)
    monkeypatch.setattr(inbox_service, "FAR_SKIP_ROWS", far_skip_rows)
    calm = SummaryPayload("other", "weeks", "", "ru")
    urgent = SummaryPayload("other", "danger_now", "", "ru")
    open_cases = [
        with_summary(db_session, config, summary, days)
        for summary, days in ((calm, 1), (calm, 2), (urgent, 3), (urgent, 4))
    ]
    closed = [with_summary(db_session, config, urgent, days) for days in (0, 5, 6)]
    for number in closed:
        db_session.scalars(select(Case).where(Case.number == number)).one().status = CaseStatus.CLOSED
    # and a colleague who has seen one open case the lawyer has not
    colleague = create_lawyer(db_session, email="colleague@example.org")
    seen_by_colleague = db_session.scalars(select(Case).where(Case.number == open_cases[1])).one()
    mark_seen(db_session, seen_by_colleague, colleague.user.id)
    db_session.commit()

    # When the lawyer reads one open and one closed case
    lawyer_client.get(f"/lawyer/cases/{open_cases[0]}")
    lawyer_client.get(f"/lawyer/cases/{closed[1]}")

    # Then "new activity only" lists the other five: the two latest open ones by urgency,
    # the remaining open one, then the closed ones by activity, and counts five
    listed = [
        number
        for page in (1, 2, 3)
        for number in inbox_numbers(lawyer_client.get(f"/lawyer/?new=y&page={page}").get_data(as_text=True))
    ]
    assert listed == [open_cases[2], open_cases[1], open_cases[3], closed[0], closed[2]]
    assert "5 cases" in lawyer_client.get("/lawyer/?new=y&page=3").get_data(as_text=True)


def test_later_pages_read_back_from_the_end_in_the_same_order(
    lawyer_client: FlaskClient,
    lawyer: LawyerFixture,
    db_session: Session,
    config: Config,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given six unassigned cases, one assigned case and pages of two
    monkeypatch.setattr(inbox_service, "INBOX_PAGE_SIZE", 2)
    calm = SummaryPayload("other", "weeks", "", "ru")
    unassigned = [with_summary(db_session, config, calm, days) for days in (3, 1, 6, 2, 5, 4)]
    assigned = with_summary(db_session, config, calm, 0)
    db_session.scalars(select(Case).where(Case.number == assigned)).one().assignee_id = lawyer.user.id
    db_session.commit()

    # Then nobody's cases come latest first over the pages, the last one read from the end
    listed = [
        number
        for page in (1, 2, 3)
        for number in inbox_numbers(
            lawyer_client.get(f"/lawyer/?assignee=nobody&order=activity&page={page}").get_data(as_text=True)
        )
    ]
    assert listed == [unassigned[index] for index in (1, 3, 0, 5, 4, 2)]


def test_filters_by_help_type_and_new_activity(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, config: Config
) -> None:
    desertion = with_summary(db_session, config, SummaryPayload("desertion", "days", "", "ru"))
    relative = with_summary(db_session, config, SummaryPayload("detained_relative", "days", "", "uk"))
    seen = with_summary(db_session, config, SummaryPayload("detained_relative", "weeks", "", "uk"))
    lawyer_client.get(f"/lawyer/cases/{seen}")

    assert inbox_numbers(lawyer_client.get("/lawyer/?help_kind=desertion").get_data(as_text=True)) == [
        desertion
    ]
    relatives = lawyer_client.get("/lawyer/?help_kind=detained_relative").get_data(as_text=True)
    assert sorted(inbox_numbers(relatives)) == sorted([relative, seen])
    unseen = lawyer_client.get("/lawyer/?new=y&order=activity").get_data(as_text=True)
    assert sorted(inbox_numbers(unseen)) == sorted([desertion, relative])
    both = lawyer_client.get("/lawyer/?new=y&help_kind=detained_relative").get_data(as_text=True)
    assert inbox_numbers(both) == [relative]
    # A help type the form does not offer filters nothing, and says nothing about it
    assert len(inbox_numbers(lawyer_client.get("/lawyer/?help_kind=bogus").get_data(as_text=True))) == 3
    # The marker is per lawyer: what this lawyer read is still new for a colleague
    seen_rows = db_session.scalars(select(SeenCase)).all()
    assert [(row.user_id, row.case_number) for row in seen_rows] == [(lawyer.user.id, seen)]


def test_a_lawyer_vetted_later_sees_the_row_without_its_summary(
    client: FlaskClient, db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    number = with_summary(db_session, config, SummaryPayload("desertion", "danger_now", "Грузия", "ru"))
    newcomer = create_lawyer(db_session, email="newcomer@example.org")
    log_in(client, newcomer.user.email, newcomer.passphrase, totp_code(newcomer.totp_secret, None))
    page = unescape(client.get("/lawyer/").get_data(as_text=True))
    assert inbox_numbers(page) == [number]
    assert "Грузия" not in page and "not available" in page


def test_urgency_order_reads_a_bounded_number_of_summaries_and_says_so(
    lawyer_client: FlaskClient, db_session: Session, config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given more open cases than one page view decrypts (the limit made small for the test)
    monkeypatch.setattr(inbox_service, "SCAN_LIMIT", 2)
    oldest_urgent = with_summary(db_session, config, SummaryPayload("other", "danger_now", "", "ru"), 9)
    calm = [
        with_summary(db_session, config, SummaryPayload("other", "weeks", "", "ru"), days) for days in (1, 2)
    ]
    urgent = with_summary(db_session, config, SummaryPayload("other", "danger_now", "", "ru"), 3)

    # Then the most recent cases are ranked by urgency, the rest follow by activity, and the page says so
    page = lawyer_client.get("/lawyer/").get_data(as_text=True)
    assert inbox_numbers(page) == [calm[0], calm[1], urgent, oldest_urgent]
    assert 'id="scan-limited"' in page
    assert 'id="scan-limited"' not in lawyer_client.get("/lawyer/?order=activity").get_data(as_text=True)


def test_re_keying_a_case_gives_its_summary_to_a_lawyer_vetted_later(
    client: FlaskClient, db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    number = with_summary(db_session, config, SummaryPayload("desertion", "danger_now", "Грузия", "ru"))
    newcomer = create_lawyer(db_session, email="newcomer@example.org")
    case = db_session.scalars(select(Case).where(Case.number == number)).one()
    rekey_case(db_session, BlobStore(config.blob_dir), case, lawyer.identity.secret, actor=lawyer.user)

    log_in(client, newcomer.user.email, newcomer.passphrase, totp_code(newcomer.totp_secret, None))
    assert "Грузия" in unescape(client.get("/lawyer/").get_data(as_text=True))
