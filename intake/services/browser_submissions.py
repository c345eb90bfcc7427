"""Help requests and follow-ups whose browser encrypted them: check the ciphertext, then store it as is.

With JavaScript on, the page encrypts the answers (one item ciphertext) and
each file (sent before through intake.services.chunked_uploads) to the
recipient set it was given. The server cannot read any of it, so it checks
what it can: the set the browser used is the current one (its fingerprint),
the item and every file are age ciphertext of exactly our shape for that
many recipients, and every file is a finished upload of this client.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Container, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO

from werkzeug.datastructures import MultiDict

from crypto.age_header import MalformedAgeFile, check_age_file, max_ciphertext_length
from intake.services.chunked_uploads import ChunkedUploads, UploadRefused
from intake.services.items import AttachmentMeta
from intake.services.multipart_stream import FilePart, MalformedUpload, MultipartStream, UploadLimits
from intake.services.submissions import MAX_FILES_PER_UPLOAD, MAX_TEXT_FIELD_BYTES, EncryptedFile

ITEM_FIELD = "encrypted_item"
UPLOADS_FIELD = "encrypted_files"
FINGERPRINT_FIELD = "recipients_fingerprint"
SUMMARY_FIELD = "encrypted_summary"
URGENT_FIELD = "urgent"
# The inbox summary: four short answers (the country cut to 100 characters).
MAX_SUMMARY_PLAINTEXT_BYTES = 2048
# Answers and message as JSON: every text field at its limit, escaped.
MAX_ITEM_PLAINTEXT_BYTES = 2 * MAX_TEXT_FIELD_BYTES
_FORM_LIMITS = UploadLimits(
    max_file_bytes=0,
    max_files_total_bytes=0,
    max_files=0,
    max_text_field_bytes=2 * MAX_ITEM_PLAINTEXT_BYTES,
    max_text_fields=12,
)


class BrowserSubmissionRefused(Exception):
    """The browser's ciphertext cannot be stored; nothing was. `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class BrowserSubmission:
    item_ciphertext: bytes
    summary_ciphertext: bytes
    # The one bit the server learns in this mode, so the content-free urgent alert still goes out.
    urgent: bool
    upload_ids: tuple[str, ...]


def recipient_set_fingerprint(recipients: Sequence[str]) -> str:
    """Names one recipient set, whatever its order: the page sends it back with what it encrypted."""
    digest = hashlib.sha256("\n".join(sorted(recipients)).encode("ascii"))
    return digest.hexdigest()


def attachment_id_of(upload_id: str) -> str:
    """The attachment id the browser writes into the item for this upload (a UUID of its 32 hex digits)."""
    return str(uuid.UUID(hex=upload_id))


def read_text_form(stream: IO[bytes], boundary: bytes) -> MultiDict[str, str]:
    """The form's text fields, parsed as a stream; a file part is refused unread."""
    fields: MultiDict[str, str] = MultiDict()
    for part in MultipartStream(stream, boundary, _FORM_LIMITS).parts():
        if isinstance(part, FilePart):
            raise MalformedUpload("files go through the chunked upload, not the form")
        fields.add(part.name, part.value)
    return fields


@dataclass(frozen=True)
class BrowserFollowUp:
    """A returning submitter's message and files, sealed in their browser like a first request's."""

    item_ciphertext: bytes
    upload_ids: tuple[str, ...]


def parse_submission(fields: MultiDict[str, str], recipients: Sequence[str]) -> BrowserSubmission:
    follow_up = parse_follow_up(fields, recipients)
    summary = _sealed_document(fields.get(SUMMARY_FIELD, ""), MAX_SUMMARY_PLAINTEXT_BYTES, recipients, "summary")
    return BrowserSubmission(
        follow_up.item_ciphertext, summary, fields.get(URGENT_FIELD) == "1", follow_up.upload_ids
    )


def parse_follow_up(fields: MultiDict[str, str], recipients: Sequence[str]) -> BrowserFollowUp:
    if fields.get(FINGERPRINT_FIELD) != recipient_set_fingerprint(recipients):
        raise BrowserSubmissionRefused(409, "the recipient set changed")
    item = _sealed_document(fields.get(ITEM_FIELD, ""), MAX_ITEM_PLAINTEXT_BYTES, recipients, "item")
    upload_ids = tuple(upload_id for upload_id in fields.get(UPLOADS_FIELD, "").split(",") if upload_id)
    if len(upload_ids) > MAX_FILES_PER_UPLOAD or len(set(upload_ids)) != len(upload_ids):
        raise BrowserSubmissionRefused(400, "the list of files is not valid")
    return BrowserFollowUp(item, upload_ids)


def _sealed_document(encoded: str, max_plaintext_bytes: int, recipients: Sequence[str], name: str) -> bytes:
    try:
        sealed = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise BrowserSubmissionRefused(400, f"the {name} is not base64") from None
    if len(sealed) > max_ciphertext_length(max_plaintext_bytes, len(recipients)):
        raise BrowserSubmissionRefused(413, f"the {name} is too large")
    try:
        check_age_file(sealed, len(sealed), len(recipients))
    except MalformedAgeFile:
        raise BrowserSubmissionRefused(400, f"the {name} is not age ciphertext of the expected shape") from None
    return sealed


@contextmanager
def finished_files(
    uploads: ChunkedUploads, upload_ids: Sequence[str], owned: Container[str], recipient_count: int
) -> Iterator[list[EncryptedFile]]:
    """Each named upload as a blob ready to publish; blobs left unpublished are deleted on exit."""
    with ExitStack() as blobs:
        files: list[EncryptedFile] = []
        for upload_id in upload_ids:
            if upload_id not in owned:
                raise BrowserSubmissionRefused(400, "a file is not an upload of this browser")
            try:
                blob = blobs.enter_context(uploads.finished_blob(upload_id, recipient_count))
            except UploadRefused as refused:
                raise BrowserSubmissionRefused(400, refused.reason) from None
            # Name, type and size are inside the item ciphertext, as for any attachment.
            meta = AttachmentMeta(attachment_id_of(upload_id), filename="", content_type="", size=0)
            files.append(EncryptedFile(meta, blob))
        yield files
