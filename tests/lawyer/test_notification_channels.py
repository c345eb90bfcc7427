"""Content-free notifications through Apprise to ntfy, signal-cli-rest-api and Matrix,
received by a real HTTP server started here, beside a real SMTP server."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from intake import create_app
from intake.models import NotificationChannel
from intake.services.notifications import DIGEST_SUBJECT, URGENT_SUBJECT
from tests.conftest import make_config
from tests.factories import LawyerFixture
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import csrf_token as page_csrf_token
from tests.lawyer.helpers import log_in, post_form, totp_code
from tests.lawyer.test_notifications import send_request
from tests.mail import ReceivedMail, smtp_server
from tests.push import PushServer, Received, push_server, recorded_connections
from tests.submit.multipart import Text, csrf_token, post_parts

PAGE = "/lawyer/notifications"
SIGNAL_SENDER = "+15550001111"
TOPIC = f"intake-{uuid.uuid4().hex}"
TYPED_NUMBER = "+380 44 123-45-67"
NUMBER = "+380441234567"
ROOM = "!lawyers-room:example.org"


@pytest.fixture
def smtp() -> Iterator[tuple[ReceivedMail, int]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def push() -> Iterator[tuple[PushServer, int]]:
    with push_server() as server:
        yield server


def channel_templates(port: int) -> dict[str, str]:
    return {
        "INTAKE_NOTIFY_NTFY_URL": f"ntfy://127.0.0.1:{port}/{{address}}",
        "INTAKE_NOTIFY_SIGNAL_URL": f"signal://127.0.0.1:{port}/{SIGNAL_SENDER}/{{address}}",
        "INTAKE_NOTIFY_MATRIX_URL": f"matrix://matrix-access-token@127.0.0.1:{port}/{{address}}",
    }


@pytest.fixture
def config(
    tmp_path: Path, database_url: str, smtp: tuple[ReceivedMail, int], push: tuple[PushServer, int]
) -> Config:
    return make_config(
        tmp_path, database_url, INTAKE_SMTP_URL=f"smtp://127.0.0.1:{smtp[1]}", **channel_templates(push[1])
    )


def opt_in(client: FlaskClient, **addresses: str) -> str:
    chosen = {"daily_digest": "y", "urgent_alerts": "y", "by_email": "y"}
    return post_form(client, PAGE, PAGE, {**chosen, **addresses})


def activity(new_client: NewClient, marker: str) -> None:
    """An urgent request, a calm one and a follow-up, each carrying the marker."""
    submitter = send_request(new_client(), marker, "danger_now")
    send_request(new_client(), marker, "weeks")
    follow_up = [Text("csrf_token", csrf_token(submitter, "/replies")), Text("message", f"Ещё {marker}")]
    assert post_parts(submitter, "/replies", follow_up).status_code == 302


def run_notify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["intake", "notify"])
    return result.exit_code, result.output


def by_service(received: list[Received]) -> dict[str, list[Received]]:
    return {
        "ntfy": [r for r in received if r.path == "/"],
        "signal": [r for r in received if r.path == "/v2/send"],
        "matrix": [r for r in received if "/send/m.room.message/" in r.path],
    }


def assert_content_free(request: Received, marker: str) -> None:
    raw = request.body + "".join(request.headers.values()).encode()
    assert marker.encode() not in raw
    assert not re.search(rb"#\d", raw) and b"/lawyer/cases" not in raw
    # No icon, attachment or link for the lawyer's app to fetch from elsewhere
    assert b"://" not in raw and "X-Icon" not in request.headers


def test_a_lawyer_hears_on_every_channel_they_chose_and_nothing_from_a_case(
    app: Flask,
    lawyer_client: FlaskClient,
    lawyer: LawyerFixture,
    new_client: NewClient,
    smtp: tuple[ReceivedMail, int],
    push: tuple[PushServer, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    (inbox, smtp_port), (server, push_port) = smtp, push
    page = opt_in(lawyer_client, ntfy_address=TOPIC, signal_address=TYPED_NUMBER, matrix_address=ROOM)
    assert "Notification settings saved." in page
    # What the lawyer gave is shown back, the Signal number as it will be used
    assert f'value="{TOPIC}"' in page and f'value="{NUMBER}"' in page and f'value="{ROOM}"' in page

    marker = f"маркер-{uuid.uuid4().hex}"
    activity(new_client, marker)
    caplog.set_level(logging.DEBUG)
    with recorded_connections() as connections:
        exit_code, output = run_notify(app)
    assert exit_code == 0, output
    assert "1 urgent alert(s), 1 digest(s), 0 failure(s)" in output
    assert "messages taken: email 2, matrix 2, ntfy 2, signal 2" in output

    # Each channel got the urgent alert, then the digest, addressed to the lawyer's own address
    services = by_service(server.take())
    ntfy, signal, matrix = services["ntfy"], services["signal"], services["matrix"]
    assert [r.json()["topic"] for r in ntfy] == [TOPIC, TOPIC]
    assert [r.json()["title"] for r in ntfy] == [URGENT_SUBJECT, DIGEST_SUBJECT]
    assert "New requests: 2. New messages from submitters: 1." in ntfy[1].json()["message"]
    assert [(r.json()["number"], r.json()["recipients"]) for r in signal] == [(SIGNAL_SENDER, [NUMBER])] * 2
    assert URGENT_SUBJECT in signal[0].json()["message"] and DIGEST_SUBJECT in signal[1].json()["message"]
    assert all("/rooms/%21joined%3Aexample.org/" in r.path for r in matrix)
    assert URGENT_SUBJECT in matrix[0].json()["body"] and DIGEST_SUBJECT in matrix[1].json()["body"]
    for request in ntfy + signal + matrix:
        assert_content_free(request, marker)
    assert len(inbox.take()) == 2

    # Nothing was reached but the test's own servers: no icon host, no update check, no discovery
    lookups = {name for event, name in connections if event == "socket.getaddrinfo"}
    reached = {address for event, address in connections if event == "socket.connect"}
    assert lookups <= {"127.0.0.1"}
    assert reached <= {("127.0.0.1", push_port), ("127.0.0.1", smtp_port)}
    # The run logs no address, and Apprise logs nothing at all
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert TOPIC not in logged and NUMBER not in logged and "lawyers-room" not in logged
    assert not [record for record in caplog.records if record.name.startswith("apprise")]


def test_addresses_are_sealed_at_rest_and_an_empty_field_deletes_one(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, database_url: str, tmp_path: Path
) -> None:
    opt_in(lawyer_client, ntfy_address=TOPIC, signal_address=NUMBER)
    rows = db_session.scalars(select(NotificationChannel).order_by(NotificationChannel.kind)).all()
    assert [(row.user_id, row.kind.value) for row in rows] == [(lawyer.user.id, "ntfy"), (lawyer.user.id, "signal")]
    for row in rows:
        assert TOPIC.encode() not in row.address_sealed and NUMBER.encode() not in row.address_sealed
    # Padded: a topic of 39 characters and a number of 13 seal to the same length
    assert len({len(row.address_sealed) for row in rows}) == 1
    if database_url.startswith("sqlite"):
        for path in (tmp_path / "data").glob("intake.sqlite3*"):
            stored = path.read_bytes()
            assert TOPIC.encode() not in stored and NUMBER.encode() not in stored

    page = opt_in(lawyer_client, ntfy_address="", signal_address=NUMBER)
    assert "Notification settings saved." in page and TOPIC not in page
    db_session.expire_all()
    assert [row.kind.value for row in db_session.scalars(select(NotificationChannel))] == ["signal"]


def test_one_channel_failing_stops_neither_the_others_nor_the_email(
    lawyer_client: FlaskClient,
    new_client: NewClient,
    smtp: tuple[ReceivedMail, int],
    push: tuple[PushServer, int],
    tmp_path: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (inbox, smtp_port), (server, push_port) = smtp, push
    opt_in(lawyer_client, ntfy_address=TOPIC, signal_address=NUMBER)
    activity(new_client, "x")
    # This ntfy server sends everything on to the working server: a redirect is not followed
    with push_server(status=307) as (redirecting, redirecting_port):
        templates = channel_templates(push_port)
        templates["INTAKE_NOTIFY_NTFY_URL"] = f"ntfy://127.0.0.1:{redirecting_port}/{{address}}"
        app = create_app(
            make_config(tmp_path, database_url, INTAKE_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}", **templates)
        )
        caplog.set_level(logging.INFO)
        exit_code, output = run_notify(app)
        assert len(redirecting.take()) == 2

    assert exit_code == 1
    assert "1 urgent alert(s), 1 digest(s), 2 failure(s); messages taken: email 2, signal 2" in output
    services = by_service(server.take())
    assert services["ntfy"] == [] and len(services["signal"]) == 2
    assert len(inbox.take()) == 2
    failures = [r.getMessage() for r in caplog.records if r.name == "intake.notifications"]
    assert len(failures) == 2 and all("by ntfy failed" in message for message in failures)
    assert not any(TOPIC in message or NUMBER in message for message in failures)


def test_a_bad_address_is_explained_and_nothing_typed_is_lost(lawyer_client: FlaskClient) -> None:
    page = lawyer_client.get(PAGE).get_data(as_text=True)
    response = lawyer_client.post(
        PAGE,
        data={
            "csrf_token": page_csrf_token(page),
            "daily_digest": "y",
            "ntfy_address": "topic with spaces",
            "signal_address": "0441234567",
            "matrix_address": "lawyers-room",
        },
    )
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "An ntfy topic is 1 to 64 letters, digits, - or _." in text
    assert "starting with + and the country code" in text
    assert "Give a room id (!…:server) or a room alias (#…:server)." in text
    assert 'value="topic with spaces"' in text and 'value="0441234567"' in text
    assert "Notification settings saved." not in text


def test_something_to_receive_needs_somewhere_to_receive_it(lawyer_client: FlaskClient) -> None:
    page = lawyer_client.get(PAGE).get_data(as_text=True)
    response = lawyer_client.post(PAGE, data={"csrf_token": page_csrf_token(page), "urgent_alerts": "y"})
    assert response.status_code == 400
    assert "Choose at least one way to receive them" in response.get_data(as_text=True)
    # A channel alone is enough
    saved = post_form(lawyer_client, PAGE, PAGE, {"urgent_alerts": "y", "signal_address": NUMBER})
    assert "Notification settings saved." in saved
    assert 'id="by_email" name="by_email" type="checkbox" value="y">' in saved


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("ru", ("Куда отправлять", "Номер Signal", "Тема ntfy", "Комната Matrix")),
        ("uk", ("Куди надсилати", "Номер Signal", "Тема ntfy", "Кімната Matrix")),
    ],
)
def test_the_channels_are_offered_in_the_lawyers_language(
    lawyer_client: FlaskClient, language: str, words: tuple[str, ...]
) -> None:
    page = lawyer_client.get(f"{PAGE}?lang={language}").get_data(as_text=True)
    for word in words:
        assert word in page


def logged_in(config: Config, lawyer: LawyerFixture) -> FlaskClient:
    client = create_app(config).test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    return client


def test_only_the_channels_the_operator_turned_on_are_offered(
    tmp_path: Path, database_url: str, db_session: Session, lawyer: LawyerFixture, push: tuple[PushServer, int]
) -> None:
    ntfy_template = channel_templates(push[1])["INTAKE_NOTIFY_NTFY_URL"]
    client = logged_in(make_config(tmp_path, database_url, INTAKE_NOTIFY_NTFY_URL=ntfy_template), lawyer)
    page = client.get(PAGE).get_data(as_text=True)
    assert 'id="ntfy_address"' in page and f"127.0.0.1:{push[1]}" in page
    assert 'id="signal_address"' not in page and 'id="matrix_address"' not in page
    # Without INTAKE_SMTP_URL email is not offered, and does not count as a way to receive
    assert 'id="by_email"' not in page
    refused = post_form(client, PAGE, PAGE, {"daily_digest": "y", "by_email": "y"})
    assert "Choose at least one way to receive them" in refused
    # A Signal number posted anyway is not stored: the channel is not on offer
    saved = post_form(client, PAGE, PAGE, {"daily_digest": "y", "ntfy_address": TOPIC, "signal_address": NUMBER})
    assert "Notification settings saved." in saved
    assert [row.kind.value for row in db_session.scalars(select(NotificationChannel))] == ["ntfy"]


def test_with_nothing_configured_the_page_says_so(
    tmp_path: Path, database_url: str, lawyer: LawyerFixture
) -> None:
    client = logged_in(make_config(tmp_path, database_url), lawyer)
    page = client.get(f"{PAGE}?lang=ru").get_data(as_text=True)
    assert "Этот сервис пока не отправляет уведомлений" in page
    assert 'id="by_email"' not in page and "_address" not in page
