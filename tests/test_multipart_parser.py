"""The streaming multipart parser, against hand-made bodies and against Werkzeug's decoder as an oracle."""

from __future__ import annotations

import io
import os
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData, Preamble

from intake.services.multipart_parser import (
    MAX_HEADER_BLOCK_BYTES,
    MAX_PREAMBLE_BYTES,
    MultipartParser,
    MultipartSyntaxError,
    TruncatedBody,
)
from intake.services.multipart_stream import MalformedUpload, MultipartStream, UploadLimits

BOUNDARY = b"----IntakeBoundaryQ7MA4YWxkTrZu0gW"


@dataclass(frozen=True)
class Parsed:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


def reads_of(body: bytes, sizes: Iterable[int]) -> Callable[[], bytes]:
    """A `read_more` that hands out `body` in pieces of the given sizes (the last one repeating)."""
    pieces = iter(sizes)
    size = 1
    offset = 0

    def read_more() -> bytes:
        nonlocal offset, size
        size = next(pieces, size)
        piece = body[offset : offset + size]
        offset += len(piece)
        return piece

    return read_more


def parse(read_more: Callable[[], bytes], boundary: bytes = BOUNDARY) -> list[Parsed]:
    parser = MultipartParser(read_more, boundary)
    parsed = []
    while (part := parser.next_part()) is not None:
        pieces = []
        more = True
        while more:
            piece, more = parser.read_data()
            pieces.append(piece)
        parsed.append(Parsed(part.name, part.filename, part.headers.get("content-type"), b"".join(pieces)))
    return parsed


def werkzeug_parse(body: bytes, boundary: bytes = BOUNDARY) -> list[Parsed]:
    decoder = MultipartDecoder(boundary)
    decoder.receive_data(body)
    decoder.receive_data(None)
    parsed: list[Parsed] = []
    pieces: list[bytes] = []
    current: Field | File | None = None
    while not isinstance(event := decoder.next_event(), Epilogue):
        assert not isinstance(event, NeedData)
        if isinstance(event, (Field, File)):
            current, pieces = event, []
        elif isinstance(event, Data):
            pieces.append(event.data)
            if not event.more_data:
                assert current is not None
                filename = current.filename if isinstance(current, File) else None
                parsed.append(
                    Parsed(current.name, filename, current.headers.get("Content-Type"), b"".join(pieces))
                )
        else:
            assert isinstance(event, Preamble)
    return parsed


def part(name: str, data: bytes, filename: str | None = None, content_type: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += f'; filename="{filename}"'
    headers = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        headers += f"Content-Type: {content_type}\r\n"
    return b"--" + BOUNDARY + b"\r\n" + headers.encode() + b"\r\n" + data + b"\r\n"


def form(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    return preamble + b"".join(parts) + b"--" + BOUNDARY + b"--\r\n" + epilogue


TWO_PARTS = form(
    part("message", "Помогите, нас выселяют.\r\n--".encode()),
    part("attachments", b"\r\n--" + BOUNDARY[:-1] + b"\r\r\n\r\n", "відео.mp4", "video/mp4"),
)
TWO_PARTS_PARSED = [
    Parsed("message", None, None, "Помогите, нас выселяют.\r\n--".encode()),
    Parsed("attachments", "відео.mp4", "video/mp4", b"\r\n--" + BOUNDARY[:-1] + b"\r\r\n\r\n"),
]


def test_a_form_comes_apart_into_its_fields_and_files() -> None:
    assert parse(reads_of(TWO_PARTS, [len(TWO_PARTS)])) == TWO_PARTS_PARSED


@pytest.mark.parametrize("first_read", range(1, len(TWO_PARTS)))
def test_every_split_between_two_reads_parses_the_same(first_read: int) -> None:
    assert parse(reads_of(TWO_PARTS, [first_read, len(TWO_PARTS)])) == TWO_PARTS_PARSED


def test_one_byte_reads_parse_the_same() -> None:
    assert parse(reads_of(TWO_PARTS, [1])) == TWO_PARTS_PARSED


@pytest.mark.parametrize("length", range(len(TWO_PARTS)))
def test_a_body_cut_before_its_close_delimiter_is_truncated(length: int) -> None:
    close_end = TWO_PARTS.index(b"\r\n--" + BOUNDARY + b"--") + len(BOUNDARY) + 6
    if length >= close_end:
        # Only the epilogue's line break is missing: the form is complete.
        assert parse(reads_of(TWO_PARTS[:length], [7])) == TWO_PARTS_PARSED
    else:
        with pytest.raises(TruncatedBody):
            parse(reads_of(TWO_PARTS[:length], [7]))


def test_preamble_epilogue_and_padding_after_a_boundary_are_ignored() -> None:
    padded = part("a", b"1").replace(BOUNDARY + b"\r\n", BOUNDARY + b" \t \r\n")
    body = form(padded, part("b", b""), preamble=b"This is a MIME body.\r\n", epilogue=b"trailing words\r\n")
    assert parse(reads_of(body, [3])) == [Parsed("a", None, None, b"1"), Parsed("b", None, None, b"")]


def test_a_part_may_end_with_its_headers() -> None:
    # RFC 2046: body-part := MIME-part-headers [CRLF *OCTET]; without the
    # optional CRLF the blank line's CRLF opens the delimiter.
    body = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="empty"\r\n\r\n--' + BOUNDARY + b"--\r\n"
    for size in (1, 5, len(body)):
        assert parse(reads_of(body, [size])) == [Parsed("empty", None, None, b"")]


def test_an_empty_form_has_no_parts() -> None:
    assert parse(reads_of(form(), [4])) == []


def test_a_boundary_followed_by_other_text_is_content() -> None:
    lookalike = b"\r\n--" + BOUNDARY + b"X\r\n--" + BOUNDARY + b"-x"
    assert parse(reads_of(form(part("f", lookalike)), [5])) == [Parsed("f", None, None, lookalike)]


def test_file_data_in_whole_reads_is_handed_out_uncopied() -> None:
    head = part("attachments", b"start", "a.bin")[: -len(b"\r\n")]
    middle = os.urandom(64 * 1024).replace(b"\r", b"r")
    reads = [head, middle, b"\r\n--" + BOUNDARY + b"--\r\n", b""]
    parser = MultipartParser(iter(reads).__next__, BOUNDARY)
    assert parser.next_part() is not None
    pieces = []
    more = True
    while more:
        piece, more = parser.read_data()
        pieces.append(piece)
    assert any(piece is middle for piece in pieces)
    assert b"".join(pieces) == b"start" + middle


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"--" + BOUNDARY + b"\r\n\r\nno headers\r\n--" + BOUNDARY + b"--", id="no-headers"),
        pytest.param(form(b"--" + BOUNDARY + b"\r\nContent-Type: text/plain\r\n\r\nx\r\n"), id="no-disposition"),
        pytest.param(form(b"--" + BOUNDARY + b"\r\nContent-Disposition: form-data\r\n\r\nx\r\n"), id="no-name"),
        pytest.param(form(b"--" + BOUNDARY + b'\r\nContent-Disposition: attachment; name="a"\r\n\r\nx\r\n'), id="not-form-data"),
        pytest.param(form(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="\xff"\r\n\r\nx\r\n'), id="not-utf8"),
        pytest.param(form(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="a"\nX: y\r\n\r\nx\r\n'), id="bare-lf"),
        pytest.param(form(b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="a"\r\nno colon\r\n\r\nx\r\n'), id="no-colon"),
        pytest.param(b"--" + BOUNDARY + b" " * 2000 + b"\r\n", id="endless-padding"),
    ],
)
def test_garbled_framing_or_headers_are_syntax_errors(body: bytes) -> None:
    with pytest.raises(MultipartSyntaxError):
        parse(reads_of(body, [len(body)]))


def test_line_breaks_other_than_crlf_do_not_frame_a_part() -> None:
    # Werkzeug takes a lone LF for CRLF; browsers never send one, and here it is content.
    body = b"--" + BOUNDARY + b'\nContent-Disposition: form-data; name="a"\n\nx\n--' + BOUNDARY + b"--\n"
    with pytest.raises(TruncatedBody):
        parse(reads_of(body, [len(body)]))


def test_garbage_without_a_boundary_is_refused_once_it_is_longer_than_a_preamble() -> None:
    garbage = os.urandom(MAX_PREAMBLE_BYTES * 4)
    with pytest.raises(MultipartSyntaxError):
        parse(reads_of(garbage, [1000]))
    with pytest.raises(TruncatedBody):
        parse(reads_of(garbage[:1000], [100]))


def test_headers_that_never_end_are_refused_without_reading_the_body() -> None:
    header = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="a"\r\nX-Padding: '
    body = header + b"a" * (50 * MAX_HEADER_BLOCK_BYTES)
    read_more = reads_of(body, [4096])
    taken = 0

    def counted() -> bytes:
        nonlocal taken
        piece = read_more()
        taken += len(piece)
        return piece

    with pytest.raises(MultipartSyntaxError, match="never end"):
        parse(counted)
    assert taken <= MAX_HEADER_BLOCK_BYTES + len(header) + 2 * 4096


def test_a_long_header_block_below_the_limit_is_fine() -> None:
    name = "д" * 2000
    body = form(part(name, b"x", filename="ф" * 3000 + ".pdf", content_type="application/pdf"))
    assert parse(reads_of(body, [333])) == [Parsed(name, "ф" * 3000 + ".pdf", "application/pdf", b"x")]


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        pytest.param('form-data; name="f"; filename="Заява; копія.pdf"', "Заява; копія.pdf", id="quoted-semicolon"),
        pytest.param('form-data; name="f"; filename="a\\"b.txt"', 'a"b.txt', id="escaped-quote"),
        pytest.param("form-data; name=f; filename=plain.txt", "plain.txt", id="token"),
        pytest.param(
            "form-data; name=\"f\"; filename*=UTF-8''%D0%B4%D0%BE%D0%BA.txt", "док.txt", id="rfc5987"
        ),
        pytest.param('form-data; name="f"; filename=""', "", id="no-file-chosen"),
    ],
)
def test_filenames_come_through_as_werkzeug_reads_them(disposition: str, filename: str) -> None:
    body = form(b"--" + BOUNDARY + f"\r\nContent-Disposition: {disposition}\r\n\r\nx\r\n".encode())
    assert parse(reads_of(body, [9]))[0].filename == filename
    assert werkzeug_parse(body)[0].filename == filename


NAMES = st.text(st.sampled_from("abcxyzабвгґєіїжщьюя_- 0123"), min_size=1, max_size=12)
# Content built to trip a parser up: line breaks, dashes, lookalikes and
# prefixes of the delimiter, next to random bytes.
TRICKY_PIECES = st.sampled_from(
    [
        b"\r",
        b"\n",
        b"\r\n",
        b"--",
        b"\r\n--",
        b"\r\n-" + BOUNDARY,
        b"\r\n--" + BOUNDARY[:5],
        b"\r\n--" + BOUNDARY[:-1],
        b"\r\n--" + BOUNDARY + b"x",
        b"--" + BOUNDARY + b"\r\n",
    ]
)
# A delimiter as Werkzeug finds one (it also takes a lone CR or LF for a line
# break): content must not hold one, or it would be two parts to either parser.
WERKZEUG_DELIMITER = re.compile(rb"(?:\r\n|\r|\n)--" + re.escape(BOUNDARY) + rb"(?:--|[ \t\x0b\x0c]*(?:\r\n|\r|\n))")
CONTENT = (
    st.lists(st.one_of(TRICKY_PIECES, st.binary(max_size=40)), max_size=12)
    .map(b"".join)
    .filter(lambda data: not WERKZEUG_DELIMITER.search(b"\r\n" + data + b"\r\n"))
)


@st.composite
def forms(draw: st.DrawFn) -> tuple[bytes, list[Parsed]]:
    parts = []
    expected = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(NAMES)
        data = draw(CONTENT)
        filename = draw(st.one_of(st.none(), NAMES))
        content_type = draw(st.one_of(st.none(), st.sampled_from(["text/plain", "video/mp4"])))
        padding = draw(st.sampled_from([b"", b" ", b"\t "]))
        parts.append(part(name, data, filename, content_type).replace(b"\r\n", padding + b"\r\n", 1))
        expected.append(Parsed(name, filename, content_type, data))
    preamble = draw(st.sampled_from([b"", b"preamble\r\n", b"\r\n"]))
    epilogue = draw(st.sampled_from([b"", b"epilogue", b"\r\n--x--\r\n"]))
    return form(*parts, preamble=preamble, epilogue=epilogue), expected


@settings(max_examples=400, deadline=None)
@given(forms(), st.lists(st.integers(1, 200), min_size=1, max_size=20))
def test_generated_forms_parse_as_werkzeug_parses_them(generated: tuple[bytes, list[Parsed]], sizes: list[int]) -> None:
    body, expected = generated
    assert werkzeug_parse(body) == expected
    assert parse(reads_of(body, sizes)) == expected


def test_large_random_forms_in_random_reads_parse_as_werkzeug_parses_them() -> None:
    chooser = random.Random(20261202)
    for _ in range(30):
        parts = []
        for index in range(chooser.randint(1, 4)):
            data = bytearray(os.urandom(chooser.randint(0, 300_000)))
            for _ in range(chooser.randint(0, 20)):
                position = chooser.randint(0, len(data))
                data[position:position] = chooser.choice([b"\r\n--" + BOUNDARY[:-2], b"\r\n", b"\r"])
            parts.append(part(f"field{index}", bytes(data), chooser.choice([None, "файл.bin"])))
        body = form(*parts)
        sizes = [chooser.choice([1, 17, 4096, 65536, 1024 * 1024]) for _ in range(200)]
        assert parse(reads_of(body, sizes)) == werkzeug_parse(body)


@pytest.mark.parametrize("boundary", [b"x" * 71, b"a\r\nb", b""])
def test_a_boundary_no_form_can_have_is_a_malformed_upload(boundary: bytes) -> None:
    limits = UploadLimits(
        max_file_bytes=10, max_files_total_bytes=10, max_files=1, max_text_field_bytes=10, max_text_fields=1
    )
    with pytest.raises(MalformedUpload):
        MultipartStream(io.BytesIO(b"--" + boundary + b"--\r\n"), boundary, limits)
