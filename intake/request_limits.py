"""What a request may carry, refused with a 4xx before it can cause harm or a 500.

Bodies: large ones only where they are streamed and encrypted, files nowhere
else. Werkzeug's form parser writes a file part larger than 500 KB to a temp file,
which would be plaintext on disk. Only the upload views (the help request,
the submitter's follow-up, the browser's ciphertext chunks and final request,
a lawyer's reply with files) read bodies
themselves (intake/services/multipart_stream.py, encrypting as they go);
every other route gets a small body limit and a form parser that refuses a
file part where it starts, before any of its bytes are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from flask import Flask, Request, abort, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, ClientDisconnected, HTTPException
from werkzeug.routing import IntegerConverter, Map

from intake.services.inbox_cursor import ActivityKey, PageCursor

# The longest form outside the uploads is a lawyer's 100,000-character reply:
# in Cyrillic, URL-encoded, about 600 KB.
FORM_BODY_LIMIT = 1024 * 1024
FORM_PARTS_LIMIT = 100
# Row ids and case numbers are signed 64-bit integers in PostgreSQL and SQLite;
# a larger one in a URL made the database driver fail with a 500.
LARGEST_ID = 2**63 - 1
LARGEST_PAGE = 1_000_000
# These parse their own bodies and enforce their own limits while streaming
# (INTAKE_MAX_SUBMISSION_BYTES; a ciphertext chunk's size for the chunked uploads).
STREAMED_UPLOAD_ENDPOINTS = frozenset(
    {
        "submit.send_request",
        "submit.send_follow_up",
        "submit.send_encrypted_request",
        "submit.send_encrypted_follow_up",
        "submit.append_chunk",
        "lawyer.reply",
    }
)


class FileRefused(BadRequest):
    description = "This form takes no files."


class FilelessRequest(Request):
    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        except HTTPException:
            # Error pages build forms too; they must find an empty form, not
            # parse the refused body a second time.
            self.__dict__["form"] = ImmutableMultiDict()
            self.__dict__["files"] = ImmutableMultiDict()
            raise

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        raise FileRefused


class BoundedIntegerConverter(IntegerConverter):
    """`<int:…>` that matches only what fits a database integer column (else: 404)."""

    # `min` and `max` are Werkzeug's argument names (rule syntax: `<int(max=9):n>`).
    def __init__(
        self, url_map: Map, fixed_digits: int = 0, min: int | None = None, max: int | None = None, signed: bool = False
    ) -> None:
        super().__init__(url_map, fixed_digits, min, LARGEST_ID if max is None else max, signed)


class GuardedInput:
    """The server's body reader: a framing error or a cut connection becomes a 400.

    Gunicorn raises its own parse errors (bad chunk size, missing chunk
    terminator) from `read()`, mid-request; unhandled, they were 500s with a
    traceback. Werkzeug's ClientDisconnected is a 400 that every body reader
    here already expects.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, size: int | None = -1) -> bytes:
        try:
            data: bytes = self._stream.read(size)
        # Whatever the server raises while reading, the request is broken.
        except Exception as error:
            raise ClientDisconnected from error
        return data

    def readline(self, size: int | None = -1) -> bytes:
        try:
            line: bytes = self._stream.readline(size)
        except Exception as error:
            raise ClientDisconnected from error
        return line

    def __iter__(self) -> GuardedInput:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


class GuardInput:
    """WSGI middleware that puts GuardedInput around `wsgi.input`."""

    def __init__(self, wsgi_app: Any) -> None:
        self._wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if "wsgi.input" in environ:
            environ["wsgi.input"] = GuardedInput(environ["wsgi.input"])
        result: Iterable[bytes] = self._wsgi_app(environ, start_response)
        return result


def streamed_body(limit: int) -> IO[bytes]:
    """The body for an upload view, which counts it and stops at `limit` itself (MultipartStream).

    A server that ends the body itself (gunicorn sets `wsgi.input_terminated`)
    has its reader handed over as it is: Werkzeug would wrap it in a
    LimitedStream for `limit`, which copied every read twice. Other servers'
    bodies still go through Werkzeug's limit to the Content-Length.
    """
    request.max_content_length = limit
    if request.environ.get("wsgi.input_terminated"):
        body: IO[bytes] = request.environ["wsgi.input"]
        return body
    return request.stream


def page_argument() -> int:
    """`?page=`: absent is the first page; anything but a sane positive integer is a 400."""
    value = request.args.get("page", "1")
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= LARGEST_PAGE:
        abort(400)
    return int(value)


def page_cursor_argument() -> PageCursor:
    """`?after=` or `?before=` from an inbox Previous or Next link; absent is none.

    A garbled one, or both, is a 400 like a bad `page`: the links are the only
    writers, so anything else was edited by hand, and refusing it keeps every
    value the query sees one the parser wrote.
    """
    try:
        after, before = (request.args.get(name) for name in ("after", "before"))
        return PageCursor(
            after=None if after is None else ActivityKey.parse(after),
            before=None if before is None else ActivityKey.parse(before),
        )
    except ValueError:
        abort(400)


def init_app(app: Flask) -> None:
    """Before the blueprints (for the converter) and CSRFProtect (so a refused body is unread).

    The upload views raise `request.max_content_length` to their own limit (`streamed_body`).
    """
    app.request_class = FilelessRequest
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.wsgi_app = GuardInput(app.wsgi_app)  # type: ignore[method-assign]
    app.config.update(MAX_CONTENT_LENGTH=FORM_BODY_LIMIT, MAX_FORM_PARTS=FORM_PARTS_LIMIT)

    @app.before_request
    def refuse_long_bodies_early() -> None:
        if request.endpoint in STREAMED_UPLOAD_ENDPOINTS:
            return
        if request.content_length is not None and request.content_length > FORM_BODY_LIMIT:
            abort(413)
