"""Chunked upload endpoints for ciphertext made in the browser (tus 1.0 core as the model).

POST /uploads creates an upload of a declared `Upload-Length`; HEAD tells its
`Upload-Offset` after a cut; PATCH appends one chunk at that offset with an
`Upload-Checksum: sha256 <base64>`; DELETE cancels. Every call but HEAD
carries the page's CSRF token in `X-CSRFToken`. These views are exempt from
CSRFProtect, whose check reads `request.form`: a body sent as a form would
then be spooled to disk. They read `request.stream` in bounded chunks and
refuse any other content type. An upload id works only with the session
cookie that created it.
"""

from __future__ import annotations

import base64
import binascii

from flask import Blueprint, Response, g, request, session
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from crypto.age_header import max_ciphertext_length
from intake.configuration import current_config
from intake.db import get_session
from intake.extensions import csrf, limiter
from intake.ratelimit import global_key, passed_csrf_check
from intake.services.blobstore import BlobStore
from intake.services.chunked_uploads import ChunkedUploads, UploadRefused, UploadStatus
from intake.services.keyring import submission_recipients
from intake.services.sources import extend_login
from intake.services.submissions import MAX_FILES_PER_UPLOAD

# Upload ids this browser created, with their lengths: the session cookie is
# signed, so no other client can name them.
SESSION_KEY = "chunked_uploads"
CHUNK_CONTENT_TYPE = "application/offset+octet-stream"


def add_upload_routes(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(UploadRefused, upload_refused)
    blueprint.add_url_rule("/uploads", view_func=create_upload, methods=["POST"])
    blueprint.add_url_rule("/uploads/<upload_id>", view_func=upload_offset, methods=["HEAD"])
    blueprint.add_url_rule("/uploads/<upload_id>", view_func=append_chunk, methods=["PATCH"])
    blueprint.add_url_rule("/uploads/<upload_id>", view_func=cancel_upload, methods=["DELETE"])


def upload_refused(error: UploadRefused) -> Response:
    return Response(error.reason, status=error.status, mimetype="text/plain")


def _uploads() -> ChunkedUploads:
    return ChunkedUploads(BlobStore(current_config().blob_dir))


def _owned() -> dict[str, int]:
    owned = session.get(SESSION_KEY)
    return dict(owned) if isinstance(owned, dict) else {}


def owned_upload_lengths() -> dict[str, int]:
    """The uploads the current session created, for the form that names them."""
    return _owned()


def forget_uploads(upload_ids: list[str]) -> None:
    owned = _owned()
    for upload_id in upload_ids:
        owned.pop(upload_id, None)
    session[SESSION_KEY] = owned


def _require_owner(upload_id: str) -> None:
    if upload_id not in _owned():
        raise UploadRefused(404, "no such upload")


def _require_csrf_header() -> None:
    try:
        validate_csrf(request.headers.get("X-CSRFToken"))
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None
    g.csrf_valid = True


# Only starts that passed the CSRF check count, so junk cannot spend the budget.
_global_upload_starts = limiter.limit(
    lambda: current_config().global_upload_start_rate_limit,
    scope="chunked-uploads-global",
    key_func=global_key,
    methods=["POST"],
    deduct_when=passed_csrf_check,
)


def _recipient_count() -> int:
    recipients = submission_recipients(get_session())
    if recipients is None:
        raise UploadRefused(503, "not accepting requests")
    return len(recipients.recipients)


def _header_int(name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isascii() or not value.isdigit():
        raise UploadRefused(400, f"{name} must be a non-negative integer")
    return int(value)


def _status_response(status: UploadStatus, code: int) -> Response:
    response = Response(status=code)
    response.headers["Upload-Offset"] = str(status.offset)
    response.headers["Upload-Length"] = str(status.length)
    response.headers["Tus-Resumable"] = "1.0.0"
    return response


@_global_upload_starts
@csrf.exempt
def create_upload() -> Response:
    _require_csrf_header()
    if request.content_length:
        raise UploadRefused(400, "create takes no body")
    config = current_config()
    length = _header_int("Upload-Length")
    recipient_count = _recipient_count()
    owned = _owned()
    if len(owned) >= MAX_FILES_PER_UPLOAD:
        raise UploadRefused(429, "too many uploads in progress")
    total_limit = max_ciphertext_length(config.max_submission_bytes, recipient_count)
    if sum(owned.values()) + length > total_limit:
        raise UploadRefused(413, "larger than the limit")
    store = BlobStore(config.blob_dir)
    if not store.has_room_for(length):
        raise UploadRefused(503, "storage full")
    status = ChunkedUploads(store).create(
        length, max_ciphertext_length(config.max_file_bytes, recipient_count)
    )
    owned[status.upload_id] = status.length
    session[SESSION_KEY] = owned
    response = _status_response(status, 201)
    response.headers["Location"] = f"{request.path}/{status.upload_id}"
    return response


def upload_offset(upload_id: str) -> Response:
    _require_owner(upload_id)
    return _status_response(_uploads().status(upload_id), 200)


@csrf.exempt
def append_chunk(upload_id: str) -> Response:
    _require_csrf_header()
    _require_owner(upload_id)
    if request.mimetype != CHUNK_CONTENT_TYPE:
        raise UploadRefused(415, f"chunks must be sent as {CHUNK_CONTENT_TYPE}")
    if request.content_length is None:
        raise UploadRefused(411, "a chunk needs a Content-Length")
    uploads = _uploads()
    status = uploads.append(
        upload_id,
        _header_int("Upload-Offset"),
        request.stream,
        request.content_length,
        _sha256_header(),
    )
    if status.complete:
        uploads.check_complete(upload_id, _recipient_count())
    extend_login(get_session(), session, current_config().secret_key)
    return _status_response(status, 204)


@csrf.exempt
def cancel_upload(upload_id: str) -> Response:
    _require_csrf_header()
    _require_owner(upload_id)
    _uploads().discard(upload_id)
    forget_uploads([upload_id])
    return Response(status=204)


def _sha256_header() -> bytes:
    algorithm, _, encoded = request.headers.get("Upload-Checksum", "").partition(" ")
    if algorithm != "sha256":
        raise UploadRefused(400, "Upload-Checksum must be sha256")
    try:
        digest = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 32:
        raise UploadRefused(400, "Upload-Checksum must be sha256")
    return digest
