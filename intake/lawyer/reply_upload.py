"""A lawyer's reply with files, parsed and encrypted as it streams in.

The same path as a submitter's upload (intake.services.submissions): the
route is exempt from the global CSRF hook, because that hook reads
`request.form` and Werkzeug would spool the files to disk in plaintext; the
token, which the form sends first, is checked before the first file byte.
The route is one of intake.request_limits' STREAMED_UPLOAD_ENDPOINTS (and
deploy/front/nginx.conf streams its path), so it alone among staff pages
takes a large body.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from flask import request
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.datastructures import MultiDict
from wtforms import ValidationError

from intake.configuration import current_config
from intake.db import get_session
from intake.models import Case
from intake.request_limits import streamed_body
from intake.services import cases
from intake.services.blobstore import BlobStore
from intake.services.keyring import RecipientSet
from intake.services.multipart_stream import UploadTooLarge, form_boundary
from intake.services.submissions import ReceivedUpload, receive_upload, upload_limits


class StorageFull(Exception):
    """The blob store's disk cannot take these files and still keep its reserve."""


@dataclass(frozen=True)
class ReplyRecipients:
    """Who the reply is sealed to (`recipients`, for `cases.add_reply`) and its files' age recipients."""

    recipients: RecipientSet
    file_recipients: list[str]


def reply_recipients(case: Case) -> ReplyRecipients:
    """Read before the body, in a transaction that ends before the body is read.

    A reply with files may stream for a long time over Tor; a transaction left
    open meanwhile would hold back PostgreSQL's vacuum and block migrations.
    """
    db = get_session()
    recipients = cases.current_recipients(db)
    file_recipients = cases.reply_recipients(db, case, recipients)
    db.rollback()
    return ReplyRecipients(recipients, file_recipients)


def _token_checker(token_field: str) -> Callable[[MultiDict[str, str]], None]:
    def require_csrf_token(fields: MultiDict[str, str]) -> None:
        try:
            validate_csrf(fields.get(token_field))
        except ValidationError as error:
            raise CSRFError(error.args[0]) from None

    return require_csrf_token


@contextmanager
def streamed_reply(recipients: Sequence[str], token_field: str) -> Iterator[ReceivedUpload]:
    """The reply form's fields, and its files encrypted to `recipients` into temp blobs.

    `token_field` is the form's CSRF field name (with its prefix). A file over
    a limit is read to its end and dropped: its name is in `too_large`.
    """
    config = current_config()
    limits = upload_limits(config)
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise UploadTooLarge(limits.max_files_total_bytes)
    boundary = form_boundary(request.mimetype, request.mimetype_params)
    store = BlobStore(config.blob_dir)
    if not store.has_room_for(request.content_length or limits.max_body_bytes):
        raise StorageFull
    # Every other staff route stops reading at intake.request_limits.FORM_BODY_LIMIT.
    body = streamed_body(limits.max_body_bytes)
    with receive_upload(body, boundary, limits, recipients, store, _token_checker(token_field)) as upload:
        yield upload
