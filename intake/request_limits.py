"""Request bodies: large ones only where they are streamed and encrypted, files nowhere else.

Werkzeug's form parser writes a file part larger than 500 KB to a temp file,
which would be plaintext on disk. Only the two upload views read bodies
themselves (intake/services/multipart_stream.py, encrypting as they go);
every other route gets a small body limit and a form parser that refuses a
file part where it starts, before any of its bytes are kept.
"""

from __future__ import annotations

from typing import IO

from flask import Flask, Request, abort, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, HTTPException

# The longest form outside the uploads is a lawyer's 100,000-character reply:
# in Cyrillic, URL-encoded, about 600 KB.
FORM_BODY_LIMIT = 1024 * 1024
FORM_PARTS_LIMIT = 100
# These parse their own bodies and enforce INTAKE_MAX_SUBMISSION_BYTES while streaming.
STREAMED_UPLOAD_ENDPOINTS = frozenset({"submit.send_request", "submit.send_follow_up"})


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


def init_app(app: Flask) -> None:
    """Register before CSRFProtect, so a refused body is refused before anything reads it.

    The upload views raise `request.max_content_length` to their own limit.
    """
    app.request_class = FilelessRequest
    app.config.update(MAX_CONTENT_LENGTH=FORM_BODY_LIMIT, MAX_FORM_PARTS=FORM_PARTS_LIMIT)

    @app.before_request
    def refuse_long_bodies_early() -> None:
        if request.endpoint in STREAMED_UPLOAD_ENDPOINTS:
            return
        if request.content_length is not None and request.content_length > FORM_BODY_LIMIT:
            abort(413)
