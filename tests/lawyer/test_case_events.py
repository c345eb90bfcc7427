"""Statuses follow what happens on a case, and changes say they were saved."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Case, CaseStatus
from tests.factories import LawyerFixture
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import post_form, post_reply
from tests.submit.multipart import (
    Text,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    request_tokens,
)


def submit_request(submitter: FlaskClient) -> None:
    receipt = post_parts(submitter, "/request", help_request_parts(request_tokens(submitter, "/request")))
    codename = codename_on(receipt.get_data(as_text=True))
    token = csrf_token(submitter, "/codename")
    submitter.post("/codename", data={"csrf_token": token, "codename": codename})


def follow_up(submitter: FlaskClient, message: str) -> None:
    parts = [Text("csrf_token", csrf_token(submitter, "/replies")), Text("message", message)]
    assert post_parts(submitter, "/replies", parts).status_code == 302


def status_of(session: Session, number: int) -> CaseStatus:
    session.expire_all()
    return session.scalars(select(Case).where(Case.number == number)).one().status


def test_a_reply_waits_for_the_submitter_and_their_answer_brings_the_case_back(
    lawyer_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    submitter = new_client()
    submit_request(submitter)
    case_path = "/lawyer/cases/1"

    # When the lawyer replies without touching the status
    page = post_reply(lawyer_client, case_path, {"reply-message": "Ответ юриста"})
    assert "Reply sent" in page
    # Then the case waits for the submitter, and it is not new for the one who wrote
    assert status_of(db_session, 1) is CaseStatus.WAITING_FOR_SUBMITTER
    assert 'class="unread' not in lawyer_client.get("/lawyer/").get_data(as_text=True)

    # When the submitter answers
    follow_up(submitter, "Спасибо, вот подробности")
    # Then a lawyer has to look again: in progress, and new activity in the inbox
    assert status_of(db_session, 1) is CaseStatus.IN_PROGRESS
    inbox = lawyer_client.get("/lawyer/?new=y").get_data(as_text=True)
    assert 'href="/lawyer/cases/1"' in inbox and 'class="unread' in inbox


def test_a_follow_up_reopens_a_closed_case(
    lawyer_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    submitter = new_client()
    submit_request(submitter)
    post_form(lawyer_client, "/lawyer/cases/1", "/lawyer/cases/1/status", {"status": "closed"})
    assert status_of(db_session, 1) is CaseStatus.CLOSED
    follow_up(submitter, "Меня снова вызывают")
    assert status_of(db_session, 1) is CaseStatus.IN_PROGRESS


def test_the_lawyer_can_choose_the_status_a_reply_leaves(
    lawyer_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    submit_request(new_client())
    case_path = "/lawyer/cases/1"
    post_reply(
        lawyer_client,
        case_path,
        {"reply-message": "Закрываем дело", "reply-status_after": "closed"},
    )
    assert status_of(db_session, 1) is CaseStatus.CLOSED


def test_status_and_assignment_changes_say_they_were_saved(
    lawyer_client: FlaskClient, new_client: NewClient, lawyer: LawyerFixture, db_session: Session
) -> None:
    submit_request(new_client())
    case_path = "/lawyer/cases/1"
    assert "Not assigned" in lawyer_client.get(case_path).get_data(as_text=True)

    page = post_form(lawyer_client, case_path, f"{case_path}/status", {"status": "in_progress"})
    assert "Status saved." in page
    page = post_form(lawyer_client, case_path, f"{case_path}/assign", {"assignee": str(lawyer.user.id)})
    assert "Assignment saved." in page
    assert f'<span id="case-assignee">Assigned to {lawyer.user.email}</span>' in page
    assert status_of(db_session, 1) is CaseStatus.IN_PROGRESS
