"""Malformed requests get a 4xx page, never a 500, and leave no traceback in the log.

Framing errors happen inside gunicorn's body reader, so those go through
real gunicorn over raw sockets; the rest is Flask's, tested with its client.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from intake.models import Role
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.helpers import log_in, totp_code
from tests.servers import Gunicorn, gunicorn, raw_exchange
from tests.submit.helpers import create_readers

ONION = "http://" + "a" * 56 + ".onion"
FORM = b"Content-Type: application/x-www-form-urlencoded\r\n"
MULTIPART = b"Content-Type: multipart/form-data; boundary=b\r\n"
BODIES = {
    "bad chunk size": b"Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
    "chunk without terminator": b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
    "truncated chunked body": b"Transfer-Encoding: chunked\r\n\r\n100\r\nabc",
    "truncated body": b"Content-Length: 100\r\n\r\nabc",
    "gzip, chunked": b"Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
}
PUBLIC_POSTS = {"/logout": FORM, "/codename": FORM, "/request": MULTIPART, "/replies": MULTIPART}


@pytest.fixture
def server(tmp_path: Path, database_url: str, db_session: Session) -> Iterator[Gunicorn]:
    create_readers(db_session)
    with gunicorn(tmp_path, database_url, INTAKE_ONION_LOCATION=ONION) as running:
        yield running


def _status(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response.split(b" ", 2)[1])


def _assert_clean_log(server: Gunicorn) -> None:
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log
    assert "unhandled" not in log


@pytest.mark.parametrize("framing", list(BODIES))
def test_broken_bodies_get_4xx_on_every_post_route(server: Gunicorn, framing: str) -> None:
    routes = [(server.public_port, path, kind) for path, kind in PUBLIC_POSTS.items()]
    routes += [(server.staff_port, "/lawyer/login", FORM), (server.staff_port, "/admin/invites", FORM)]
    for port, path, kind in routes:
        request = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" + kind + BODIES[framing]
        status = _status(raw_exchange(port, request))
        # (/replies without a submitter session redirects before reading anything)
        assert 300 <= status < 500 and status != 304, f"{framing} to {path}: {status}"
    _assert_clean_log(server)


@pytest.mark.parametrize(
    "path",
    [b"/%D0%BF%D0%BE%D0%BC%D0%BE%D1%89%D1%8C", b"/%C0%AF", b"/a%0D%0ASet-Cookie:%20x=1", b"/?q=%D1%8F%0D%0A"],
)
def test_odd_paths_with_an_onion_location(server: Gunicorn, path: bytes) -> None:
    response = raw_exchange(server.public_port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert _status(response) in (200, 404)
    head = response.split(b"\r\n\r\n", 1)[0].decode("ascii")
    locations = [line for line in head.split("\r\n") if line.lower().startswith("onion-location:")]
    assert len(locations) == 1 and locations[0].split(": ", 1)[1].startswith(ONION + "/")
    assert "set-cookie: x" not in head.lower()
    _assert_clean_log(server)


def test_a_raw_utf8_path_is_refused_by_gunicorn(server: Gunicorn) -> None:
    response = raw_exchange(server.public_port, "GET /помощь HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert _status(response) == 400
    _assert_clean_log(server)


@pytest.fixture
def admin_client(client: FlaskClient, db_session: Session) -> FlaskClient:
    admin: LawyerFixture = create_lawyer(db_session, email="admin@example.org", role=Role.ADMIN)
    page = log_in(client, admin.user.email, admin.passphrase, totp_code(admin.totp_secret, None))
    assert "Inbox" in page
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/lawyer/cases/99999999999999999999999",
        "/lawyer/cases/9223372036854775808",
        "/lawyer/?page=99999999999999999999999",
        "/admin/audit?page=99999999999999999999999",
        "/admin/audit?page=-1",
        "/admin/audit?page=abc",
    ],
)
def test_integers_beyond_64_bits_are_refused(admin_client: FlaskClient, path: str) -> None:
    response = admin_client.get(path)
    assert 400 <= response.status_code < 500
    assert "<html" in response.get_data(as_text=True)
