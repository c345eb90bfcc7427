"""Content-free email through a real SMTP server (aiosmtpd, started here)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config
from intake import create_app
from intake.services.clock import utc_today
from intake.services.mailer import Mailer
from intake.services.notifications import DIGEST_SUBJECT, URGENT_SUBJECT, Routes, notify
from tests.conftest import TEST_SECRET, make_config
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import post_form
from tests.mail import ReceivedMail, free_port, smtp_server
from tests.submit.multipart import (
    Text,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    request_tokens,
)


@pytest.fixture
def smtp() -> Iterator[tuple[ReceivedMail, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def config(tmp_path: Path, database_url: str, smtp: tuple[ReceivedMail, int]) -> Config:
    return make_config(
        tmp_path,
        database_url,
        INTAKE_SMTP_URL=f"smtp://127.0.0.1:{smtp[1]}",
        INTAKE_NOTIFY_FROM="intake@example.org",
    )


def run_notify(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["intake", "notify"])
    assert result.exit_code == 0, result.output
    return result.output


def send_request(submitter: FlaskClient, marker: str, urgency: str) -> FlaskClient:
    parts = help_request_parts(
        request_tokens(submitter, "/request"), f"Помогите {marker}", country=marker, urgency=urgency
    )
    codename = codename_on(post_parts(submitter, "/request", parts).get_data(as_text=True))
    submitter.post("/codename", data={"csrf_token": csrf_token(submitter, "/codename"), "codename": codename})
    return submitter


def test_a_lawyer_who_opted_in_is_told_how_much_arrived_and_nothing_else(
    app: Flask,
    lawyer_client: FlaskClient,
    lawyer: LawyerFixture,
    new_client: NewClient,
    db_session: Session,
    smtp: tuple[ReceivedMail, int],
) -> None:
    inbox, _port = smtp
    create_lawyer(db_session, email="quiet@example.org")  # never opts in
    page = post_form(
        lawyer_client,
        "/lawyer/notifications",
        "/lawyer/notifications",
        {"daily_digest": "y", "urgent_alerts": "y", "by_email": "y"},
    )
    assert "Notification settings saved." in page

    # Given an urgent request, a calm one and a follow-up, each carrying a marker
    marker = f"маркер-{uuid.uuid4().hex}"
    submitter = send_request(new_client(), marker, "danger_now")
    send_request(new_client(), marker, "weeks")
    follow_up = [Text("csrf_token", csrf_token(submitter, "/replies")), Text("message", f"Ещё {marker}")]
    assert post_parts(submitter, "/replies", follow_up).status_code == 302

    # When the periodic run goes
    output = run_notify(app)
    assert "1 urgent alert(s), 1 digest(s), 0 failure(s)" in output

    # Then only the lawyer who opted in got mail: an urgent alert and a digest with counts only
    received = inbox.take()
    assert [to for to, _message in received] == [[lawyer.user.email], [lawyer.user.email]]
    alert, digest = (message for _to, message in received)
    assert alert["Subject"] == URGENT_SUBJECT and digest["Subject"] == DIGEST_SUBJECT
    assert alert["From"] == "intake@example.org"
    body = digest.get_payload(decode=True)
    assert isinstance(body, bytes)
    text = body.decode()
    assert "New requests: 2. New messages from submitters: 1." in text
    assert "Нових звернень: 2. Нових повідомлень від заявників: 1." in text
    for _to, message in received:
        raw = message.as_bytes()
        assert marker.encode() not in raw
        assert b"#" not in raw and b"/lawyer/cases" not in raw

    # And a second run the same day sends nothing more
    assert "0 urgent alert(s), 0 digest(s)" in run_notify(app)
    assert inbox.take() == []


def test_nothing_new_sends_nothing_and_opting_out_stops_mail(
    app: Flask, lawyer_client: FlaskClient, new_client: NewClient, smtp: tuple[ReceivedMail, int]
) -> None:
    inbox, _port = smtp
    send_request(new_client(), "before", "danger_now")
    # Opting in later does not report what came before, and an already-announced alert is not replayed
    run_notify(app)
    post_form(lawyer_client, "/lawyer/notifications", "/lawyer/notifications", {"daily_digest": "y", "by_email": "y"})
    run_notify(app)
    assert inbox.take() == []

    post_form(lawyer_client, "/lawyer/notifications", "/lawyer/notifications", {})
    send_request(new_client(), "after", "danger_now")
    run_notify(app)
    assert inbox.take() == []


def test_an_unreachable_mail_server_fails_the_run_and_keeps_the_digest_due(
    app: Flask,
    lawyer_client: FlaskClient,
    new_client: NewClient,
    smtp: tuple[ReceivedMail, int],
    tmp_path: Path,
    database_url: str,
) -> None:
    post_form(lawyer_client, "/lawyer/notifications", "/lawyer/notifications", {"daily_digest": "y", "by_email": "y"})
    send_request(new_client(), "x", "days")
    broken = create_app(
        make_config(tmp_path, database_url, INTAKE_SMTP_URL=f"smtp://127.0.0.1:{free_port()}")
    )
    result = broken.test_cli_runner().invoke(args=["intake", "notify"])
    assert result.exit_code == 1 and "1 failure(s)" in result.output
    # The digest is still owed, and goes out once the server answers
    assert "1 digest(s)" in run_notify(app)


def test_with_a_digest_hour_the_digest_waits_for_it_and_an_urgent_alert_does_not(
    app: Flask,
    lawyer_client: FlaskClient,
    new_client: NewClient,
    db_session: Session,
    smtp: tuple[ReceivedMail, int],
) -> None:
    inbox, port = smtp
    post_form(
        lawyer_client,
        "/lawyer/notifications",
        "/lawyer/notifications",
        {"daily_digest": "y", "urgent_alerts": "y", "by_email": "y"},
    )
    send_request(new_client(), "x", "danger_now")
    routes = Routes(Mailer.from_url(f"smtp://127.0.0.1:{port}", "intake@example.org"), None, TEST_SECRET.encode())
    afternoon = dt.datetime.combine(utc_today(), dt.time(14, 3), dt.UTC)

    # The request came in the afternoon: the alert goes at once, the digest does not
    report = notify(db_session, routes, afternoon, digest_hour=6)
    assert (report.urgent_alerts, report.digests, report.failures) == (1, 0, 0)
    assert [message["Subject"] for _to, message in inbox.take()] == [URGENT_SUBJECT]

    # Next morning in the digest hour it goes, once
    next_morning = afternoon + dt.timedelta(hours=16, minutes=2)
    assert notify(db_session, routes, next_morning, digest_hour=6).digests == 1
    assert notify(db_session, routes, next_morning + dt.timedelta(minutes=5), digest_hour=6).digests == 0
    assert [message["Subject"] for _to, message in inbox.take()] == [DIGEST_SUBJECT]
