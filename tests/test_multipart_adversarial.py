"""Hostile multipart bodies and headers: each is refused with a 4xx, costs no more than a form, and stores nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from config import Config
from intake.services.browser_submissions import read_text_form
from intake.services.multipart_parser import MAX_TRANSPORT_PADDING_BYTES, MultipartParser
from intake.services.multipart_stream import (
    FilePart,
    MalformedUpload,
    MultipartStream,
    UploadLimits,
    UploadTooLarge,
)
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


def test_delimiter_lookalikes_with_long_padding_are_content_kept_whole() -> None:
    # A file of "--boundary", padding, then "x" (not a delimiter, so content):
    # every lookalike makes the parser measure its padding, in C since the
    # Python loop per byte cost 60 ms of CPU per MiB sent (docs/benchmarks.md).
    padded = b"\r\n--" + BOUNDARY + b" \t" * (MAX_TRANSPORT_PADDING_BYTES // 2) + b"x"
    content = padded * (2 * MIB // len(padded))
    parser = MultipartParser(_reads_of_a_mib(_file_of(content)), BOUNDARY)
    assert parser.next_part() is not None
    received = b""
    while True:
        data, more = parser.read_data()
        received += data
        if not more:
            break
    assert received == content


class _SplitBody:
    """A body handed out in reads of the given sizes (the last repeating), counting what was taken."""

    def __init__(self, body: bytes, sizes: list[int]) -> None:
        self._body = body
        self._sizes = iter(sizes)
        self._size = sizes[-1]
        self.taken = 0

    def read(self, size: int = -1) -> bytes:
        self._size = next(self._sizes, self._size)
        end = self.taken + min(size, self._size)
        chunk = self._body[self.taken : end]
        self.taken += len(chunk)
        return chunk


LIMITS = UploadLimits(
    max_file_bytes=300, max_files_total_bytes=500, max_files=2, max_text_field_bytes=200, max_text_fields=3
)
READ_SIZES = st.lists(st.integers(1, 64), min_size=1, max_size=8)


def _field(name: str, data: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + ("" if filename is None else f'; filename="{filename}"')
    return b"--" + BOUNDARY + f"\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"


def _form(*fields: bytes) -> bytes:
    return b"".join(fields) + b"--" + BOUNDARY + b"--\r\n"


def _received(body: _SplitBody) -> list[tuple[str, bytes]]:
    received = []
    for part in MultipartStream(body, BOUNDARY, LIMITS).parts():
        if isinstance(part, FilePart):
            pieces = []
            while piece := part.reader.read(37):
                pieces.append(piece)
            received.append((part.filename, b"".join(pieces)))
        else:
            received.append((part.name, part.value.encode()))
    return received


@settings(max_examples=150, deadline=None)
@given(st.integers(0, LIMITS.max_text_field_bytes + 5), READ_SIZES)
def test_a_text_field_is_capped_at_its_limit_however_the_body_is_split(length: int, sizes: list[int]) -> None:
    # A field one byte over its cap must be refused whichever read the cap falls in.
    value = ("я" * (length // 2) + "a" * (length % 2)).encode()
    body = _SplitBody(_form(_field("message", value)), sizes)
    if length <= LIMITS.max_text_field_bytes:
        assert _received(body) == [("message", value)]
    else:
        with pytest.raises(UploadTooLarge):
            _received(body)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, LIMITS.max_file_bytes + 5), st.integers(0, 205), READ_SIZES)
def test_files_are_capped_each_and_together_however_the_body_is_split(
    first: int, second: int, sizes: list[int]
) -> None:
    files = [("a.bin", b"\r" * first), ("b.bin", b"-" * second)]
    body = _SplitBody(_form(*(_field("attachments", data, name) for name, data in files)), sizes)
    if first <= LIMITS.max_file_bytes and first + second <= LIMITS.max_files_total_bytes:
        assert _received(body) == files
    else:
        with pytest.raises(UploadTooLarge):
            _received(body)


@pytest.mark.parametrize(
    ("fields", "refusal"),
    [
        pytest.param(
            [_field(f"f{index}", b"x") for index in range(4)], MalformedUpload, id="one-text-field-too-many"
        ),
        pytest.param(
            [_field("attachments", b"x", f"{index}.bin") for index in range(3)],
            UploadTooLarge,
            id="one-file-too-many",
        ),
    ],
)
def test_one_part_more_than_the_form_has_is_refused(fields: list[bytes], refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        _received(_SplitBody(_form(*fields), [7]))


@pytest.mark.parametrize("raw_filename", [" ", "\t \t", "папка/", "\x01\x02"])
def test_a_file_whose_name_cleans_to_nothing_is_kept_as_unnamed(raw_filename: str) -> None:
    # Not an empty input: its bytes are the submitter's file, not a reason to refuse the form.
    body = _SplitBody(_form(_field("attachments", b"evidence", raw_filename)), [7])
    assert _received(body) == [("unnamed", b"evidence")]


def test_file_inputs_left_empty_are_skipped_and_count_as_no_file() -> None:
    # What a browser sends for an empty file input; any number of them is not a file.
    empty_inputs = [_field("attachments", b"", "") for _ in range(10)]
    body = _SplitBody(_form(*empty_inputs, _field("attachments", b"data", "a.bin")), [5])
    assert _received(body) == [("a.bin", b"data")]


def test_a_file_sent_with_the_browsers_text_form_is_refused_before_its_data_is_read() -> None:
    # The encrypted request's form carries ciphertext as text; its files go up in
    # chunks. A file part here is refused where it starts, not after a gigabyte.
    file_bytes = 8 * MIB
    body = _SplitBody(
        _form(_field("csrf_token", b"t"), _field("attachments", bytes(file_bytes), "a.bin")), [MIB]
    )
    with pytest.raises((MalformedUpload, UploadTooLarge)):
        read_text_form(body, BOUNDARY)
    assert body.taken <= MIB
