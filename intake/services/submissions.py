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
import hmac
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO

from sqlalchemy import Connection, Select, bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from config import Config
from crypto import CURRENT_CODENAME_VERSION, CodenameKeys, encrypt_stream_padded
from crypto.form_digest import form_digest, form_digest_key
from intake.models import Attachment, Case, CaseStatus, CaseSummary, Item, ItemKind, ItemRecipient, Source
from intake.services.background_blocks import BackgroundDigest, BackgroundWriter
from intake.services.blobstore import BlobStore, PendingBlob
from intake.services.clock import utc_today
from intake.services.derivation_slots import derive_codename_keys
from intake.services.items import AttachmentMeta, ItemPayload, seal_item
from intake.services.keyring import (
    RecipientSet,
    codename_kdf,
    codename_salt,
    count_urgent_alert,
    next_case_number,
)
from intake.services.multipart_stream import (
    FilePart,
    FileReader,
    MultipartStream,
    TextPart,
    UploadLimits,
    UploadTooLarge,
)
from intake.services.seen_cases import forget_seen
from intake.services.summaries import seal_summary, summary_from_answers
from intake.write_turns import write_transaction

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
    # BLAKE3 of the plaintext, taken as it streamed in: what the file is when
    # a form is sent again (kept, or chosen again under any name). Never stored
    # as such; empty for files the browser encrypted.
    content_digest: bytes = b""


def attachment_rows(files: Sequence[EncryptedFile]) -> list[Attachment]:
    """The rows that point an item at its files' blobs, in the order they arrived."""
    return [Attachment(**values) for values in _attachment_values(files)]


def _attachment_values(files: Sequence[EncryptedFile]) -> list[dict[str, object]]:
    """Each attachment row's columns but its item."""
    return [
        {
            "id": uuid.UUID(file.meta.attachment_id),
            "position": position,
            "blob_name": file.blob.name,
            "ciphertext_size": file.blob.size,
        }
        for position, file in enumerate(files)
    ]


@dataclass(frozen=True)
class ReceivedUpload:
    fields: MultiDict[str, str]
    files: list[EncryptedFile]
    # Names of files over a limit: read to their end and dropped, the others kept.
    too_large: list[str]
    # The check before storing refused with StoreNoFiles: no file was stored,
    # and these are the names of those read to their end and dropped.
    refused: bool = False
    not_stored: tuple[str, ...] = ()


class StoreNoFiles(Exception):
    """Raised by a check before storing: store no file, yet read the whole form (to give its text back)."""


@dataclass(frozen=True)
class SealedInBrowser:
    """What the submitter's browser encrypted: the first item, the inbox summary, and the urgency bit."""

    item: bytes
    summary: bytes
    urgent: bool


@dataclass(frozen=True)
class SentForm:
    """What a help-request form sent, as the parts of its keyed digest (crypto.form_digest); never stored."""

    parts: tuple[bytes, ...]


def form_sent_to_server(answers: dict[str, str], message: str, file_digests: Sequence[bytes]) -> SentForm:
    """The answers, the message and each file's content, whatever the files' names or order."""
    text = json.dumps({"fields": answers, "message": message}, sort_keys=True, ensure_ascii=False)
    return SentForm((b"server", text.encode(), *sorted(file_digests)))


def form_sent_by_browser(
    item: bytes, summary: bytes, urgent: bool, attachment_ids: Sequence[str]
) -> SentForm:
    """The browser's ciphertext as posted: equal only for the same post sent again, never for a re-encryption."""
    return SentForm((b"browser", item, summary, b"1" if urgent else b"0", ",".join(attachment_ids).encode()))


@dataclass(frozen=True)
class Receipt:
    codename: str
    case_number: int
    # A changed form sent again under the same codename: stored as a further message on its case.
    added_as_follow_up: bool = False


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
    upload; it runs exactly once, before any file byte is written. If what it
    raises is StoreNoFiles, every file is read to its end and dropped, and the
    rest of the form is collected as usual. Blobs not published by the time
    the block exits are deleted.
    """
    with ExitStack() as pending_blobs:
        fields: MultiDict[str, str] = MultiDict()
        files: list[EncryptedFile] = []
        too_large: list[str] = []
        not_stored: list[str] = []
        checked = refused = False
        for part in MultipartStream(stream, boundary, limits).parts():
            if isinstance(part, TextPart):
                fields.add(part.name, part.value)
                continue
            if not checked:
                refused = _refused_by(check_before_storing, fields)
                checked = True
            if refused:
                part.reader.discard_rest()
                if part.filename:
                    not_stored.append(part.filename)
            elif part.name == FILES_FIELD:
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
            refused = _refused_by(check_before_storing, fields)
        yield ReceivedUpload(fields, files, too_large, refused, tuple(not_stored))


def _refused_by(
    check_before_storing: Callable[[MultiDict[str, str]], None], fields: MultiDict[str, str]
) -> bool:
    try:
        check_before_storing(fields)
    except StoreNoFiles:
        return True
    return False


class _HashingReader:
    """A file part's bytes, passed through to the encryption and hashed on the way (on another thread)."""

    def __init__(self, reader: FileReader, digest: BackgroundDigest) -> None:
        self._reader = reader
        self._digest = digest

    def read(self, size: int, /) -> bytes:
        data = self._reader.read(size)
        self._digest.put(data)
        return data


def _encrypt_file(part: FilePart, blob: PendingBlob, recipients: Sequence[str]) -> EncryptedFile:
    with BackgroundDigest() as digest, BackgroundWriter(blob) as writer:
        # The encryptor writes 1 MiB at a time: a system call and a time reset per MiB, not per 8 KiB.
        encrypt_stream_padded(_HashingReader(part.reader, digest), writer, recipients)
    meta = AttachmentMeta(
        attachment_id=str(uuid.uuid4()),
        filename=part.filename,
        content_type=part.content_type,
        size=part.reader.size,
    )
    return EncryptedFile(meta, blob, digest.digest())


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
    sent: SentForm | None = None,
    language: str,
) -> Receipt:
    """A new source, case, first item and inbox summary under `codename` (which is never stored).

    `language` is the page's language, the one the submitter wrote in: it
    goes into the encrypted summary for the lawyers' triage.

    If a request was already stored under this codename, the form was sent
    again. The same form (a reload, a double click, a retry after a lost
    response: its keyed digest of `sent` matches; by default `sent` is what
    `answers`, `message`, `files` and `sealed` hold) stores nothing and gets the
    same receipt; its files are left unpublished, so the caller's writers
    delete them. A changed form (the submitter went back, edited, added a
    file) is stored as a further message on that case, as the receipt says,
    and its answers become the case's summary (urgent now: the lawyers are
    alerted).

    `sealed` holds the item and summary ciphertext when the submitter's
    browser made them (then `answers` and `message` are empty and the case
    records that mode).
    """
    if sent is None:
        sent = _form_sent(answers, message, files, sealed)
    keys = _new_codename_keys(session, config, codename)
    digest = form_digest(form_digest_key(keys.identity), sent.parts)
    today = utc_today()
    sealed_item = None if sealed is None else sealed.item
    earlier = _stored_case(session, keys.lookup_id)
    if earlier is not None and _is_repeat(earlier, digest):
        return Receipt(codename=codename, case_number=earlier.number)
    if sealed is None:
        summary_payload = summary_from_answers(answers, language)
        summary = seal_summary(summary_payload, recipients.recipients)
        urgent = summary_payload.urgent
    else:
        summary, urgent = sealed.summary, sealed.urgent
    if earlier is not None:
        resent = _new_item(
            ItemKind.FOLLOW_UP, recipients, ItemPayload(answers, message), files, today, sealed_item
        )
        _append_item(
            session,
            select(Case).where(Case.id == earlier.id),
            resent,
            files,
            today,
            _ResentForm(digest, summary, urgent),
        )
        return Receipt(codename=codename, case_number=earlier.number, added_as_follow_up=True)
    rows = _FirstRequestRows.of(
        keys,
        digest,
        today,
        _item_ciphertext(recipients, ItemPayload(answers, message), files, sealed_item),
        summary,
        sealed_item is not None,
        files,
        recipients,
    )

    def add_rows() -> None:
        rows.insert(session.connection(), next_case_number(session))
        if urgent:
            count_urgent_alert(session)

    try:
        _publish_and_commit(session, files, add_rows)
    except IntegrityError:
        # The same form sent twice at once: the other request stored it first.
        # (Two different forms at the same instant under one codename: this
        # one fails, its files already deleted, and the submitter sends again.)
        earlier = _stored_case(session, keys.lookup_id)
        if earlier is None or not _is_repeat(earlier, digest):
            raise
        return Receipt(codename=codename, case_number=earlier.number)
    return Receipt(codename=codename, case_number=rows.case_number)


@dataclass
class _FirstRequestRows:
    """A new source, its case, the first item and the inbox summary, as rows made before the write.

    Inserted past the ORM: the write transaction holds SQLite's one write
    lock while every other submission waits, and the ORM's unit of work made
    it cost 2.3 ms of CPU, 0.97 ms this way (in-process, SQLite).
    """

    source: dict[str, object]
    case: dict[str, object]
    item: dict[str, object]
    attachments: list[dict[str, object]]
    item_recipients: list[dict[str, object]]
    summary: dict[str, object]
    case_number: int = 0

    @classmethod
    def of(
        cls,
        keys: CodenameKeys,
        sent_form_digest: bytes,
        today: dt.date,
        item_ciphertext: bytes,
        summary_ciphertext: bytes,
        encrypted_in_browser: bool,
        files: Sequence[EncryptedFile],
        recipients: RecipientSet,
    ) -> _FirstRequestRows:
        source_id, case_id, item_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        return cls(
            source={
                "id": source_id,
                "codename_lookup_id": keys.lookup_id,
                "codename_version": int(keys.version),
                "reply_recipient": keys.identity.recipient,
                "created_day": today,
            },
            case={
                "id": case_id,
                "source_id": source_id,
                "status": CaseStatus.NEW,
                "created_day": today,
                "last_activity_day": today,
                "activity_seq": 1,
                "item_count": 1,
                "encrypted_in_browser": encrypted_in_browser,
                "sent_form_digest": sent_form_digest,
            },
            item={
                "id": item_id,
                "case_id": case_id,
                "seq": 1,
                "kind": ItemKind.SUBMISSION,
                "created_day": today,
                "ciphertext": item_ciphertext,
                "visible_to_source": False,
            },
            attachments=[{**values, "item_id": item_id} for values in _attachment_values(files)],
            item_recipients=[
                {"item_id": item_id, "user_id": lawyer_id} for lawyer_id in recipients.lawyer_ids
            ],
            summary={"case_id": case_id, "ciphertext": summary_ciphertext},
        )

    def insert(self, connection: Connection, case_number: int) -> None:
        self.case_number = case_number
        connection.execute(insert(Source), self.source)
        connection.execute(insert(Case), {**self.case, "number": case_number})
        connection.execute(insert(Item), self.item)
        if self.attachments:
            connection.execute(insert(Attachment), self.attachments)
        if self.item_recipients:
            connection.execute(insert(ItemRecipient), self.item_recipients)
        connection.execute(insert(CaseSummary), self.summary)


def _form_sent(
    answers: dict[str, str], message: str, files: Sequence[EncryptedFile], sealed: SealedInBrowser | None
) -> SentForm:
    if sealed is None:
        return form_sent_to_server(answers, message, [file.content_digest for file in files])
    return form_sent_by_browser(
        sealed.item, sealed.summary, sealed.urgent, [file.meta.attachment_id for file in files]
    )


def stored_receipt(session: Session, config: Config, codename: str, sent: SentForm) -> Receipt | None:
    """The receipt of exactly this form if it was stored already under `codename`, else None.

    For a form whose files are no longer where it says (kept files published,
    browser uploads handed over): a reload of a form that was stored.
    """
    keys = _new_codename_keys(session, config, codename)
    earlier = _stored_case(session, keys.lookup_id)
    if earlier is None or not _is_repeat(earlier, form_digest(form_digest_key(keys.identity), sent.parts)):
        return None
    return Receipt(codename=codename, case_number=earlier.number)


def _new_codename_keys(session: Session, config: Config, codename: str) -> CodenameKeys:
    """The keys of a codename the form issued: always the current derivation version."""
    return derive_codename_keys(
        codename,
        codename_salt(session),
        CURRENT_CODENAME_VERSION,
        codename_kdf(config, CURRENT_CODENAME_VERSION),
    )


@dataclass(frozen=True)
class _StoredCase:
    id: uuid.UUID
    number: int
    sent_form_digest: bytes | None


_STORED_CASE = (
    select(Case.id, Case.number, Case.sent_form_digest)
    .join(Source, Source.id == Case.source_id)
    .where(Source.codename_lookup_id == bindparam("lookup_id"))
)


def _stored_case(session: Session, lookup_id: str) -> _StoredCase | None:
    """Every submission asks, so the statement is built once and run past the ORM, as in keyring."""
    session.flush()
    row = session.connection().execute(_STORED_CASE, {"lookup_id": lookup_id}).one_or_none()
    session.rollback()
    return None if row is None else _StoredCase(row.id, row.number, row.sent_form_digest)


def _is_repeat(case: _StoredCase, digest: bytes) -> bool:
    return case.sent_form_digest is not None and hmac.compare_digest(case.sent_form_digest, digest)


def add_follow_up(
    session: Session,
    source_id: uuid.UUID,
    recipients: RecipientSet,
    message: str,
    files: Sequence[EncryptedFile],
    sealed_item: bytes | None = None,
) -> None:
    """Another item on the source's case, encrypted like a submission (not to the source).

    `sealed_item` is the item as the submitter's browser encrypted it (then
    `message` is empty and the files' names are inside it)."""
    today = utc_today()
    item = _new_item(ItemKind.FOLLOW_UP, recipients, ItemPayload(message=message), files, today, sealed_item)
    _append_item(session, select(Case).where(Case.source_id == source_id), item, files, today)


def is_latest_item(session: Session, source_id: uuid.UUID, ciphertext: bytes) -> bool:
    """Whether the source's case already ends with exactly this ciphertext: a browser's follow-up
    sent again after its answer was lost. A re-encryption never matches (age keys every file anew)."""
    latest = session.scalar(
        select(Item.ciphertext)
        .join(Case, Case.id == Item.case_id)
        .where(Case.source_id == source_id)
        .order_by(Item.seq.desc())
        .limit(1)
    )
    session.rollback()
    return latest is not None and hmac.compare_digest(latest, ciphertext)


@dataclass(frozen=True)
class _ResentForm:
    """A changed help-request form sent again: what it changes on its case besides the new item."""

    sent_form_digest: bytes
    # The form's answers are the submitter's latest: the inbox triages by them.
    summary: bytes
    urgent: bool


def _append_item(
    session: Session,
    case_query: Select[Case],
    item: Item,
    files: Sequence[EncryptedFile],
    today: dt.date,
    resent_form: _ResentForm | None = None,
) -> None:
    """`item` as the next one on the case `case_query` finds, committed with its files."""

    def add_rows() -> None:
        case = session.scalars(case_query.with_for_update()).one()
        # Query before attaching the item: an autoflush must not meet it half-built.
        item.seq = (session.scalar(select(func.max(Item.seq)).where(Item.case_id == case.id)) or 0) + 1
        item.case = case
        # In the session before forget_seen's DELETE autoflushes: it is complete by now.
        session.add(item)
        case.activity_seq += 1
        case.item_count += 1
        case.last_activity_day = today
        forget_seen(session, case)
        if resent_form is not None:
            case.sent_form_digest = resent_form.sent_form_digest
            session.merge(CaseSummary(case_id=case.id, ciphertext=resent_form.summary))
            if resent_form.urgent:
                count_urgent_alert(session)
        # The submitter answered: whatever the case waited for, or even if it
        # was closed, a lawyer has to look at it again.
        if case.status in (CaseStatus.WAITING_FOR_SUBMITTER, CaseStatus.CLOSED):
            case.status = CaseStatus.IN_PROGRESS

    _publish_and_commit(session, files, add_rows)


def _new_item(
    kind: ItemKind,
    recipients: RecipientSet,
    payload: ItemPayload,
    files: Sequence[EncryptedFile],
    today: dt.date,
    sealed_item: bytes | None = None,
) -> Item:
    item = Item(
        id=uuid.uuid4(),
        kind=kind,
        created_day=today,
        ciphertext=_item_ciphertext(recipients, payload, files, sealed_item),
        visible_to_source=False,
    )
    item.attachments = attachment_rows(files)
    item.recipients = [ItemRecipient(user_id=lawyer_id) for lawyer_id in recipients.lawyer_ids]
    return item


def _item_ciphertext(
    recipients: RecipientSet, payload: ItemPayload, files: Sequence[EncryptedFile], sealed_item: bytes | None
) -> bytes:
    """What the browser sealed, or the answers and each file's name, type and size sealed here."""
    if sealed_item is not None:
        return sealed_item
    with_files = ItemPayload(payload.fields, payload.message, tuple(file.meta for file in files))
    return seal_item(with_files, recipients.recipients)


def _publish_and_commit(
    session: Session, files: Sequence[EncryptedFile], add_rows: Callable[[], None]
) -> None:
    try:
        for file in files:
            file.blob.publish()
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            with write_transaction(session):
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
