"""Receiving help requests and follow-ups: encrypt on arrival, then one commit.

Order of events for every upload:
1. the body is parsed as a stream (intake.services.multipart_stream); the
   caller's check (CSRF) runs before the first file byte is accepted;
2. each file is padded and age-encrypted chunk by chunk into a temp blob;
3. the answers are validated by the caller, then serialised, padded and
   encrypted into the item ciphertext;
4. the blobs are moved into place and the rows committed in one transaction.
Any failure before 4 deletes the temp blobs; a failed commit deletes the
published ones. A crash in between leaves only unreferenced ciphertext, which
`flask intake sweep` removes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from config import Config
from crypto import CURRENT_CODENAME_VERSION, encrypt_stream_padded
from intake.models import Attachment, Case, CaseStatus, CaseSummary, Item, ItemKind, ItemRecipient, Source
from intake.services.blobstore import BlobStore, PendingBlob
from intake.services.clock import utc_today
from intake.services.derivation_slots import derive_codename_keys
from intake.services.items import AttachmentMeta, ItemPayload, seal_item
from intake.services.keyring import RecipientSet, codename_kdf, codename_salt, instance_keys, next_case_number
from intake.services.multipart_stream import FilePart, MultipartStream, TextPart, UploadLimits, UploadTooLarge
from intake.services.summaries import seal_summary, summary_from_answers

FILES_FIELD = "attachments"
MAX_FILES_PER_UPLOAD = 20
MAX_TEXT_FIELDS = 32
# 100,000 characters of Cyrillic are 200,000 bytes of UTF-8; emoji take 4.
MAX_TEXT_FIELD_BYTES = 4 * 100_000 + 4096
# Two concurrent follow-ups may pick the same item seq; the
# unique constraints catch it and the loser simply tries again.
COMMIT_ATTEMPTS = 3


@dataclass(frozen=True)
class EncryptedFile:
    meta: AttachmentMeta
    blob: PendingBlob


def attachment_rows(files: Sequence[EncryptedFile]) -> list[Attachment]:
    """The rows that point an item at its files' blobs, in the order they arrived."""
    return [
        Attachment(
            id=uuid.UUID(file.meta.attachment_id),
            position=position,
            blob_name=file.blob.name,
            ciphertext_size=file.blob.size,
        )
        for position, file in enumerate(files)
    ]


@dataclass(frozen=True)
class ReceivedUpload:
    fields: MultiDict[str, str]
    files: list[EncryptedFile]
    # Names of files over a limit: read to their end and dropped, the others kept.
    too_large: list[str]


@dataclass(frozen=True)
class SealedInBrowser:
    """What the submitter's browser encrypted: the first item, the inbox summary, and the urgency bit."""

    item: bytes
    summary: bytes
    urgent: bool


@dataclass(frozen=True)
class Receipt:
    codename: str
    case_number: int


def upload_limits(config: Config) -> UploadLimits:
    return UploadLimits(
        max_file_bytes=config.max_file_bytes,
        max_files_total_bytes=config.max_submission_bytes,
        max_files=MAX_FILES_PER_UPLOAD,
        max_text_field_bytes=MAX_TEXT_FIELD_BYTES,
        max_text_fields=MAX_TEXT_FIELDS,
    )


@contextmanager
def receive_upload(
    stream: IO[bytes],
    boundary: bytes,
    limits: UploadLimits,
    recipients: Sequence[str],
    store: BlobStore,
    check_before_storing: Callable[[MultiDict[str, str]], None],
) -> Iterator[ReceivedUpload]:
    """Parse a form body, encrypting each file into a temp blob as it arrives.

    `check_before_storing` sees the text fields that came before the first
    file (the form puts its CSRF token first) and may raise to refuse the
    upload; it runs exactly once, before any file byte is written. Blobs not
    published by the time the block exits are deleted.
    """
    with ExitStack() as pending_blobs:
        fields: MultiDict[str, str] = MultiDict()
        files: list[EncryptedFile] = []
        too_large: list[str] = []
        checked = False
        for part in MultipartStream(stream, boundary, limits).parts():
            if isinstance(part, TextPart):
                fields.add(part.name, part.value)
                continue
            if not checked:
                check_before_storing(fields)
                checked = True
            if part.name == FILES_FIELD:
                blob = pending_blobs.enter_context(store.writer())
                try:
                    files.append(_encrypt_file(part, blob, recipients))
                except UploadTooLarge:
                    # Over a file or total limit: the form comes back saying
                    # which file, with everything else kept. Past the limit
                    # of the whole body, the next read raises again.
                    part.reader.discard_rest()
                    blob.discard()
                    too_large.append(part.filename)
        if not checked:
            check_before_storing(fields)
        yield ReceivedUpload(fields, files, too_large)


def _encrypt_file(part: FilePart, blob: PendingBlob, recipients: Sequence[str]) -> EncryptedFile:
    encrypt_stream_padded(part.reader, blob, recipients)
    meta = AttachmentMeta(
        attachment_id=str(uuid.uuid4()),
        filename=part.filename,
        content_type=part.content_type,
        size=part.reader.size,
    )
    return EncryptedFile(meta, blob)


def create_submission(
    session: Session,
    config: Config,
    recipients: RecipientSet,
    codename: str,
    answers: dict[str, str],
    message: str,
    files: Sequence[EncryptedFile],
    sealed: SealedInBrowser | None = None,
    *,
    language: str,
) -> Receipt:
    """A new source, case, first item and inbox summary under `codename` (which is never stored).

    `language` is the page's language, the one the submitter wrote in: it
    goes into the encrypted summary for the lawyers' triage.

    If a request was already stored under this codename (the same form sent
    again: a reload, a double click, a retry after a lost response), nothing
    is stored and its receipt is returned; the files of the repeat are left
    unpublished, so the caller's writers delete them.

    `sealed` holds the item and summary ciphertext when the submitter's
    browser made them (then `answers` and `message` are empty and the case
    records that mode).
    """
    keys = derive_codename_keys(
        codename,
        codename_salt(session),
        CURRENT_CODENAME_VERSION,
        codename_kdf(config, CURRENT_CODENAME_VERSION),
    )
    earlier = _case_number_of(session, keys.lookup_id)
    if earlier is not None:
        return Receipt(codename=codename, case_number=earlier)
    today = utc_today()
    sealed_item = None if sealed is None else sealed.item
    item = _new_item(ItemKind.SUBMISSION, recipients, ItemPayload(answers, message), files, today, sealed_item)
    source = Source(
        codename_lookup_id=keys.lookup_id,
        codename_version=int(keys.version),
        reply_recipient=keys.identity.recipient,
        created_day=today,
    )
    case = Case(
        source=source,
        status=CaseStatus.NEW,
        created_day=today,
        last_activity_day=today,
        activity_seq=1,
        item_count=1,
        encrypted_in_browser=sealed_item is not None,
    )
    item.case = case
    item.seq = 1
    if sealed is None:
        summary_payload = summary_from_answers(answers, language)
        summary = seal_summary(summary_payload, recipients.recipients)
        urgent = summary_payload.urgent
    else:
        summary, urgent = sealed.summary, sealed.urgent

    def add_rows() -> None:
        case.number = next_case_number(session)
        session.add(case)
        session.add(CaseSummary(case=case, ciphertext=summary))
        if urgent:
            instance_keys(session).urgent_alerts_pending += 1

    try:
        _publish_and_commit(session, files, add_rows)
    except IntegrityError:
        # The same form sent twice at once: the other request stored it first.
        earlier = _case_number_of(session, keys.lookup_id)
        if earlier is None:
            raise
        return Receipt(codename=codename, case_number=earlier)
    return Receipt(codename=codename, case_number=case.number)


def _case_number_of(session: Session, lookup_id: str) -> int | None:
    number = session.scalar(select(Case.number).join(Case.source).where(Source.codename_lookup_id == lookup_id))
    session.rollback()
    return number


def add_follow_up(
    session: Session,
    source_id: uuid.UUID,
    recipients: RecipientSet,
    message: str,
    files: Sequence[EncryptedFile],
) -> None:
    """Another item on the source's case, encrypted like a submission (not to the source)."""
    today = utc_today()
    item = _new_item(ItemKind.FOLLOW_UP, recipients, ItemPayload(message=message), files, today)

    def add_rows() -> None:
        case = session.scalars(select(Case).where(Case.source_id == source_id).with_for_update()).one()
        # Query before attaching the item: an autoflush must not meet it half-built.
        item.seq = (session.scalar(select(func.max(Item.seq)).where(Item.case_id == case.id)) or 0) + 1
        item.case = case
        case.activity_seq += 1
        case.item_count += 1
        case.last_activity_day = today
        # The submitter answered: whatever the case waited for, or even if it
        # was closed, a lawyer has to look at it again.
        if case.status in (CaseStatus.WAITING_FOR_SUBMITTER, CaseStatus.CLOSED):
            case.status = CaseStatus.IN_PROGRESS
        session.add(item)

    _publish_and_commit(session, files, add_rows)


def _new_item(
    kind: ItemKind,
    recipients: RecipientSet,
    payload: ItemPayload,
    files: Sequence[EncryptedFile],
    today: dt.date,
    sealed_item: bytes | None = None,
) -> Item:
    payload = ItemPayload(payload.fields, payload.message, tuple(file.meta for file in files))
    item = Item(
        id=uuid.uuid4(),
        kind=kind,
        created_day=today,
        ciphertext=sealed_item if sealed_item is not None else seal_item(payload, recipients.recipients),
        visible_to_source=False,
    )
    item.attachments = attachment_rows(files)
    item.recipients = [ItemRecipient(user_id=lawyer_id) for lawyer_id in recipients.lawyer_ids]
    return item


def _publish_and_commit(
    session: Session, files: Sequence[EncryptedFile], add_rows: Callable[[], None]
) -> None:
    try:
        for file in files:
            file.blob.publish()
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            add_rows()
            try:
                session.commit()
                return
            except IntegrityError:
                session.rollback()
                if attempt == COMMIT_ATTEMPTS:
                    raise
    except BaseException:
        session.rollback()
        for file in files:
            if file.blob.published:
                file.blob.store.delete(file.blob.name)
        raise
