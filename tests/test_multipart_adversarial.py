"""Hostile multipart bodies and headers: each is refused with a 4xx, costs no more than a form, and stores nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config
from intake.services.multipart_parser import MAX_TRANSPORT_PADDING_BYTES, MultipartParser
from tests.lawyer.fixtures import lawyer, lawyer_client, recovery
from tests.lawyer.helpers import submit_directly
from tests.submit.helpers import NOTHING_STORED, ReadersFixture, create_readers, stored_state

__all__ = ["lawyer", "lawyer_client", "recovery"]


@pytest.fixture
def readers(db_session: Session) -> ReadersFixture:
    return create_readers(db_session)


# RFC 2231 lets a parameter name its charset: Werkzeug decodes `boundary*=`
# to any character, and a boundary outside Latin-1 was a 500 with a traceback.
NON_LATIN_BOUNDARIES = ["boundary*=utf-8''%D0%B4", "boundary*=utf-8''%FF", "boundary*=utf-8''%E2%80%94x"]


@pytest.mark.parametrize("boundary", NON_LATIN_BOUNDARIES)
@pytest.mark.parametrize("path", ["/request", "/request/encrypted"])
def test_a_boundary_no_browser_sends_is_a_400_on_the_public_uploads(
    app: Flask, client: FlaskClient, readers: ReadersFixture, path: str, boundary: str
) -> None:
    client.get("/request")
    response = client.post(path, data="--д--\r\n".encode(), content_type=f"multipart/form-data; {boundary}")
    assert response.status_code == 400
    assert stored_state(app) == NOTHING_STORED


@pytest.mark.parametrize("boundary", NON_LATIN_BOUNDARIES)
def test_a_boundary_no_browser_sends_is_a_400_on_a_lawyers_reply(
    lawyer_client: FlaskClient, db_session: Session, config: Config, boundary: str
) -> None:
    submitted = submit_directly(db_session, config, "request")
    response = lawyer_client.post(
        f"/lawyer/cases/{submitted.number}/reply",
        data="--д--\r\n".encode(),
        content_type=f"multipart/form-data; {boundary}",
    )
    assert response.status_code == 400


BOUNDARY = b"----IntakeBoundaryQ7MA4YWxkTrZu0gW"
MIB = 1024 * 1024


def _file_of(content: bytes) -> bytes:
    head = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="f"; filename="a"\r\n\r\n'
    return head + content + b"\r\n--" + BOUNDARY + b"--\r\n"


def _reads_of_a_mib(body: bytes) -> Callable[[], bytes]:
    # As gunicorn hands the body out: a MiB per read.
    pieces = iter([body[start : start + MIB] for start in range(0, len(body), MIB)])
    return lambda: next(pieces, b"")


def _seconds_to_parse(body: bytes) -> float:
    fastest = float("inf")
    for _ in range(3):
        parser = MultipartParser(_reads_of_a_mib(body), BOUNDARY)
        started = time.process_time()
        assert parser.next_part() is not None
        while parser.read_data()[1]:
            pass
        fastest = min(fastest, time.process_time() - started)
    return fastest


def test_delimiter_lookalikes_with_long_padding_cost_no_more_than_short_ones() -> None:
    # A file of "--boundary", 1 KiB of spaces, then "x" (not a delimiter,
    # so content): every lookalike makes the parser look at its padding. That
    # look was a Python loop per byte: 60 ms of CPU per MiB sent, a hundred
    # times the cost of other content, so a few slow senders kept the CPU busy.
    padded = b"\r\n--" + BOUNDARY + b" " * MAX_TRANSPORT_PADDING_BYTES + b"x"
    bare = b"\r\n--" + BOUNDARY + b"x"
    size = 4 * MIB
    padded_seconds = _seconds_to_parse(_file_of(padded * (size // len(padded))))
    bare_seconds = _seconds_to_parse(_file_of(bare * (size // len(bare))))
    assert padded_seconds <= bare_seconds
