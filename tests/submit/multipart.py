"""Multipart bodies built by hand, part by part, in the order a browser sends them.

Werkzeug's test client would encode forms itself, but it spools bodies over
500 KB to a temp file (plaintext in /tmp, which the canary test looks for)
and cannot send a truncated or reordered body. These helpers can, and they
stream: a file's content may be a generator of chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

BOUNDARY = "----IntakeTestBoundary7MA4YWxkTrZu0gW"


@dataclass(frozen=True)
class Text:
    name: str
    value: str


@dataclass(frozen=True)
class Upload:
    filename: str
    # bytes, or chunks with their total `size` for content generated on the fly
    content: bytes | Iterable[bytes]
    size: int | None = None
    content_type: str = "application/octet-stream"
    name: str = "attachments"

    @property
    def length(self) -> int:
        if isinstance(self.content, bytes):
            return len(self.content)
        assert self.size is not None, "generated content needs its size"
        return self.size


Part = Text | Upload


def _part_header(part: Part) -> bytes:
    if isinstance(part, Text):
        disposition = f'form-data; name="{part.name}"'
        return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
    # Browsers send the filename as raw UTF-8 with quotes percent-escaped.
    filename = part.filename.replace('"', "%22")
    disposition = f'form-data; name="{part.name}"; filename="{filename}"'
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\nContent-Type: {part.content_type}\r\n\r\n".encode()


def _segments(parts: list[Part]) -> Iterator[bytes]:
    for part in parts:
        yield _part_header(part)
        if isinstance(part, Text):
            yield part.value.encode()
        elif isinstance(part.content, bytes):
            yield part.content
        else:
            yield from part.content
        yield b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


def body_length(parts: list[Part]) -> int:
    total = len(f"--{BOUNDARY}--\r\n")
    for part in parts:
        total += len(_part_header(part)) + 2
        total += len(part.value.encode()) if isinstance(part, Text) else part.length
    return total


def body_bytes(parts: list[Part]) -> bytes:
    return b"".join(_segments(parts))


class BodyStream:
    """A file-like request body that produces its bytes only as they are read."""

    def __init__(self, parts: list[Part]) -> None:
        self._segments = _segments(parts)
        self._buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            segment = next(self._segments, None)
            if segment is None:
                break
            self._buffer += segment
        if size < 0:
            size = len(self._buffer)
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk


CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def post_parts(client: FlaskClient, path: str, parts: list[Part], **headers: str) -> TestResponse:
    """POST the parts as a streamed body with an exact Content-Length."""
    return post_stream(client, path, BodyStream(parts), body_length(parts), **headers)


def post_stream(
    client: FlaskClient, path: str, body: object, content_length: int, **headers: str
) -> TestResponse:
    # Set in the environ directly: given an input stream, the test client would
    # seek to its end to measure it, which a generated body cannot do.
    environ = {"wsgi.input": body, "CONTENT_LENGTH": str(content_length), "CONTENT_TYPE": CONTENT_TYPE}
    return client.post(path, environ_overrides=environ, headers=headers)


def csrf_token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


@dataclass(frozen=True)
class RequestTokens:
    """What the help-request form carries before its answers: CSRF token and sealed codename."""

    csrf: str
    form_codename: str
    # As the form shows it to the submitter.
    codename: str


def request_tokens(client: FlaskClient, path: str = "/request") -> RequestTokens:
    page = client.get(path).get_data(as_text=True)
    return request_tokens_on(page)


def request_tokens_on(page: str) -> RequestTokens:
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    sealed = re.search(r'name="form_codename" value="([^"]+)"', page)
    assert csrf and sealed, "the page is not the help-request form"
    return RequestTokens(csrf.group(1), sealed.group(1), codename_on(page))


def help_request_parts(
    tokens: RequestTokens | str,
    message: str = "Мне нужна помощь юриста.",
    files: list[Upload] | None = None,
    **answers: str,
) -> list[Part]:
    """The form as a browser sends it; a bare CSRF token stands for a form without its codename."""
    fields = {
        "help_kind": "desertion",
        "country": "Грузия",
        "urgency": "days",
        "contact_preference": "this_site",
        "contact_value": "",
        **answers,
    }
    if isinstance(tokens, str):
        head = [Text("csrf_token", tokens)]
    else:
        head = [Text("csrf_token", tokens.csrf), Text("form_codename", tokens.form_codename)]
    return [
        *head,
        *(Text(name, value) for name, value in fields.items()),
        Text("message", message),
        *(files or [Upload("", b"")]),
    ]


def codename_on(page: str) -> str:
    match = re.search(r'<p class="codename" id="codename"[^>]*>([^<]+)</p>', page)
    assert match, "no codename on the page"
    return match.group(1).strip()


def kept_files_on(page: str) -> str:
    match = re.search(r'name="kept_files" value="([^"]+)"', page)
    assert match, "the form keeps no files"
    return match.group(1)


def csrf_token_on(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)
