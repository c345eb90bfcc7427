"""Sending the form again, through the production server, in Russian, as a browser without JavaScript does.

The first send's response never arrives (the connection is gone before it is
read, as when a Tor circuit drops); the submitter edits the text and sends
the same form again, then the browser repeats that post once more.
"""

from __future__ import annotations

import http.client
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import Case, ItemKind
from tests.gunicorn_server import running_gunicorn
from tests.submit.helpers import create_readers, decrypt_attachment, decrypt_item, stored_state
from tests.submit.multipart import (
    CONTENT_TYPE,
    Part,
    Upload,
    body_bytes,
    codename_on,
    help_request_parts,
    request_tokens_on,
)

FIRST = "Мужа забрали в военкомат прямо с работы. Что делать?"
EDITED = "Мужа забрали в военкомат прямо с работы, телефон отобрали. Повестку прилагаю. Что делать?"
SUMMONS = Upload("повестка.jpg", b"\xff\xd8 the summons, photographed " * 200, content_type="image/jpeg")
CHANGES_ADDED = "Ваши изменения добавлены к вашему обращению как новое сообщение."


@dataclass
class Browser:
    """Just enough of a browser: one cookie jar, plain HTTP/1.1 requests."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def _remember(self, response: http.client.HTTPResponse) -> None:
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie_name, _, cookie_value = value.split(";", 1)[0].partition("=")
                self.cookies[cookie_name] = cookie_value

    def _headers(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}

    def get(self, path: str) -> str:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        connection.request("GET", path, headers=self._headers())
        response = connection.getresponse()
        self._remember(response)
        page = response.read().decode()
        connection.close()
        return page

    def post(self, path: str, parts: list[Part]) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        connection.request(
            "POST", path, body=body_bytes(parts), headers={**self._headers(), "Content-Type": CONTENT_TYPE}
        )
        response = connection.getresponse()
        self._remember(response)
        page = response.read().decode()
        connection.close()
        return response.status, page

    def post_and_lose_the_response(self, path: str, parts: list[Part]) -> None:
        body = body_bytes(parts)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: {CONTENT_TYPE}\r\n"
            f"Content-Length: {len(body)}\r\nCookie: {self._headers()['Cookie']}\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection((self.host, self.port), timeout=30) as connection:
            connection.sendall(head.encode() + body)


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the server never stored the request"
        time.sleep(0.2)


def test_an_edited_resend_after_a_lost_response_reaches_the_same_case_over_gunicorn(
    app: Flask, db_session: Session, tmp_path: Path, database_url: str
) -> None:
    readers = create_readers(db_session)
    with running_gunicorn(tmp_path, database_url) as (host, port):
        browser = Browser(host, port)
        # Given the Russian form, its codename shown before sending
        tokens = request_tokens_on(browser.get("/request?lang=ru"))

        # When it is sent and the response is lost on the way back
        browser.post_and_lose_the_response("/request?lang=ru", help_request_parts(tokens, FIRST))
        wait_for(lambda: stored_state(app).cases == 1)

        # And the submitter edits the text, adds the summons, and sends the same form again
        edited = help_request_parts(tokens, EDITED, files=[SUMMONS], urgency="danger_now")
        status, page = browser.post("/request?lang=ru", edited)

        # Then the receipt shows the codename they held and says the changes were added
        assert status == 200, page
        assert codename_on(page) == tokens.codename
        assert CHANGES_ADDED in page
        assert re.search(r'<html lang="ru"', page)

        # And when the browser repeats that post (a reload), nothing more is stored
        stored = stored_state(app)
        status, page = browser.post("/request?lang=ru", edited)
        assert status == 200
        assert codename_on(page) == tokens.codename
        assert stored_state(app) == stored

    # The lawyer finds one case: the request as first sent, then the edited form with its file
    case = db_session.scalars(select(Case)).one()
    assert [item.kind for item in case.items] == [ItemKind.SUBMISSION, ItemKind.FOLLOW_UP]
    assert decrypt_item(case.items[0], readers.lawyer.identity).message == FIRST
    resent = decrypt_item(case.items[1], readers.lawyer.identity)
    assert resent.message == EDITED
    assert resent.fields["urgency"] == "danger_now"
    assert resent.attachments[0].filename == "повестка.jpg"
    assert decrypt_attachment(app, case.items[1].attachments[0], readers.lawyer.identity) == SUMMONS.content
