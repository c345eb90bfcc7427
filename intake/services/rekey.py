"""Re-keying: re-encrypt a case's items and files to the lawyers vetted now.

Items are encrypted to the lawyers vetted when they arrive, so a lawyer
vetted later cannot read older items, and items stay readable by lawyers who
have since been suspended or revoked. Somebody who can decrypt an item (a
lawyer among its recipients, or the recovery identity rebuilt from trustees'
shares) re-keys it: the plaintext is sealed again, padded, to every vetted
lawyer, the recovery key and, for replies, the submitter's codename key.

Per item, as for uploads (see intake.services.submissions): each attachment
is stream-decrypted and stream-encrypted into a new blob (plaintext only ever
in a few chunks in memory, never on disk), the new blobs are published, the
rows are updated and committed, and only then are the old blobs deleted. A
failed commit deletes the new blobs instead; a crash in between leaves only
unreferenced ciphertext, which `intake sweep` removes.

Re-keying does not erase what the old recipients could read: old ciphertext
in backups still opens with their keys.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from crypto import DecryptionError, decrypt_padded, encrypt_padded, encrypt_stream_padded
from intake.models import Attachment, Case, CaseSummary, Item, ItemRecipient, User, UserStatus
from intake.services import audit
from intake.services.blobstore import BlobStore, PendingBlob
from intake.services.cases import NobodyCanRead, case_items
from intake.services.downloads import ChunkReader, DownloadFailed, decrypted_chunks
from intake.services.keyring import RecipientSet, submission_recipients


@dataclass(frozen=True)
class RekeyReport:
    # Items now encrypted to exactly the current lawyers and the recovery key.
    rekeyed_items: int = 0
    # Attachment blobs rewritten for those items.
    rewritten_files: int = 0
    # Items that already were, and were left untouched.
    current_items: int = 0
    # Items the given identity could not decrypt (or whose files are damaged or
    # missing), left untouched.
    unreadable_items: int = 0

    def __add__(self, other: RekeyReport) -> RekeyReport:
        return RekeyReport(
            rekeyed_items=self.rekeyed_items + other.rekeyed_items,
            rewritten_files=self.rewritten_files + other.rewritten_files,
            current_items=self.current_items + other.current_items,
            unreadable_items=self.unreadable_items + other.unreadable_items,
        )

    def describe(self) -> str:
        """Counts only, for the audit trail and the operator's terminal."""
        return (
            f"rekeyed={self.rekeyed_items} files={self.rewritten_files} "
            f"current={self.current_items} unreadable={self.unreadable_items}"
        )


def stale_items_readable_by(session: Session, case: Case, lawyer: User) -> bool:
    """Whether `lawyer` is a recipient of an item of `case` not encrypted to exactly the vetted lawyers.

    That is when re-keying by this lawyer can give somebody access (a lawyer
    vetted since) or take it away (a lawyer suspended or revoked since).
    """
    not_current = or_(
        # names somebody who is no longer vetted
        exists()
        .where(ItemRecipient.item_id == Item.id)
        .where(ItemRecipient.user_id == User.id, User.status != UserStatus.VETTED),
        # misses somebody who is vetted now
        exists()
        .where(User.status == UserStatus.VETTED)
        .where(~exists().where(ItemRecipient.item_id == Item.id, ItemRecipient.user_id == User.id)),
    )
    readable_by_lawyer = exists().where(ItemRecipient.item_id == Item.id, ItemRecipient.user_id == lawyer.id)
    query = select(Item.id).where(Item.case_id == case.id, readable_by_lawyer, not_current).limit(1)
    return session.scalar(query) is not None


def rekey_case(
    session: Session, store: BlobStore, case: Case, identity_secret: str, actor: User | None = None
) -> RekeyReport:
    """Re-encrypt every item of `case` that `identity_secret` opens and whose recipients are out of date.

    Commits once per item, so an interrupted run keeps what it finished and a
    second run picks up the rest (a run with nothing to do changes nothing).
    It ends the session's transaction as it goes: call it with no pending
    changes. Raises NobodyCanRead if there is no vetted lawyer or no recovery key.
    """
    recipients = submission_recipients(session)
    if recipients is None:
        raise NobodyCanRead
    current_lawyers = set(recipients.lawyer_ids)
    report = RekeyReport()
    for item in case_items(session, case):
        if _names_exactly(item, current_lawyers):
            report += RekeyReport(current_items=1)
        else:
            report += _rekey_item(session, store, case, item.id, identity_secret, recipients)
    if report.rekeyed_items:
        _rekey_summary(session, case, identity_secret, recipients)
        audit.record(session, "case.rekeyed", actor=actor, case_number=case.number, detail=report.describe())
        session.commit()
    return report


def _rekey_summary(session: Session, case: Case, identity_secret: str, recipients: RecipientSet) -> None:
    """The inbox summary follows its items, so a lawyer who can read the case can triage it."""
    summary = session.get(CaseSummary, case.id)
    if summary is None:
        return
    try:
        plaintext = decrypt_padded(summary.ciphertext, [identity_secret])
    except DecryptionError:
        return
    summary.ciphertext = encrypt_padded(plaintext, recipients.recipients)


def record_recovery(session: Session, total: RekeyReport) -> None:
    """`intake recover` is done: say what it did in the audit log."""
    audit.record(session, "instance.recovered", detail=total.describe())
    session.commit()


def rekey_every_case(
    session: Session, store: BlobStore, identity_secret: str
) -> Iterator[tuple[int, RekeyReport]]:
    """Re-key case after case (the recovery ceremony), yielding each one's number and report."""
    for number in list(session.scalars(select(Case.number).order_by(Case.number))):
        case = session.scalar(select(Case).where(Case.number == number))
        if case is not None:  # else deleted by retention meanwhile
            yield number, rekey_case(session, store, case, identity_secret)


def _rekey_item(
    session: Session,
    store: BlobStore,
    case: Case,
    item_id: uuid.UUID,
    identity_secret: str,
    recipients: RecipientSet,
) -> RekeyReport:
    item = _locked_item(session, item_id)
    if item is None:
        # Deleted since the case was listed (retention).
        session.rollback()
        return RekeyReport()
    # Each rollback below only ends the transaction, releasing the row lock:
    # nothing has been changed yet.
    if _names_exactly(item, set(recipients.lawyer_ids)):
        # Re-keyed by somebody else since the case was listed.
        session.rollback()
        return RekeyReport(current_items=1)
    try:
        plaintext = decrypt_padded(item.ciphertext, [identity_secret])
    except DecryptionError:
        session.rollback()
        return RekeyReport(unreadable_items=1)
    new_recipients = [*recipients.recipients]
    if item.visible_to_source:
        new_recipients.append(case.source.reply_recipient)

    with ExitStack() as pending_blobs:
        new_blobs: list[PendingBlob] = []
        try:
            for attachment in item.attachments:
                blob = pending_blobs.enter_context(store.writer())
                _reencrypt_file(store, attachment.blob_name, identity_secret, blob, new_recipients)
                new_blobs.append(blob)
        except DownloadFailed:
            # The item opens but one of its files does not: keep every old
            # blob rather than leave the item with a file nobody can read.
            session.rollback()
            return RekeyReport(unreadable_items=1)
        old_blob_names = [attachment.blob_name for attachment in item.attachments]
        item.ciphertext = encrypt_padded(plaintext, new_recipients)
        _replace_recipient_rows(item, recipients.lawyer_ids)
        try:
            for attachment, blob in zip(item.attachments, new_blobs, strict=True):
                attachment.blob_name = blob.publish()
                attachment.ciphertext_size = blob.size
            session.commit()
        except BaseException:
            session.rollback()
            _delete_unreferenced(session, store, [blob.name for blob in new_blobs if blob.published])
            raise
    for blob_name in old_blob_names:
        store.delete(blob_name)
    return RekeyReport(rekeyed_items=1, rewritten_files=len(new_blobs))


def _names_exactly(item: Item, lawyer_ids: AbstractSet[uuid.UUID]) -> bool:
    # The recovery key is a recipient of every item, so the lawyers decide.
    return {recipient.user_id for recipient in item.recipients} == lawyer_ids


def _locked_item(session: Session, item_id: uuid.UUID) -> Item | None:
    """The item as stored now, its row locked until commit or rollback (PostgreSQL).

    Two lawyers re-keying the same case take turns per item, and the second
    sees the first one's result instead of reading blobs it has just deleted.
    SQLite ignores the lock; there a concurrent re-key at worst fails to read
    a deleted blob (the item counts as unreadable) or leaves an orphan blob.
    """
    return session.scalar(
        select(Item)
        .where(Item.id == item_id)
        .with_for_update()
        .options(selectinload(Item.recipients), selectinload(Item.attachments))
        .execution_options(populate_existing=True)
    )


def _reencrypt_file(
    store: BlobStore, blob_name: str, identity_secret: str, target: PendingBlob, recipients: Sequence[str]
) -> None:
    """Decrypt one blob 1 MiB at a time and encrypt each piece on into `target`.

    Raises DownloadFailed if the old blob cannot be read or decrypted to its end.
    """
    plaintext = decrypted_chunks(store, blob_name, identity_secret)
    try:
        encrypt_stream_padded(ChunkReader(plaintext), target, recipients)
    finally:
        plaintext.close()


def _delete_unreferenced(session: Session, store: BlobStore, blob_names: Sequence[str]) -> None:
    """Delete the new blobs of a failed commit, unless the commit did happen after all.

    A connection lost during COMMIT raises although the rows may be stored;
    deleting blobs they name would lose the files (the old blobs are then
    unreferenced). If the database cannot tell, keep them all: `intake sweep`
    removes whichever no row names.
    """
    try:
        referenced = set(
            session.scalars(select(Attachment.blob_name).where(Attachment.blob_name.in_(blob_names)))
        )
        session.rollback()
    except SQLAlchemyError:
        session.rollback()
        return
    for blob_name in blob_names:
        if blob_name not in referenced:
            store.delete(blob_name)


def _replace_recipient_rows(item: Item, lawyer_ids: Sequence[uuid.UUID]) -> None:
    # Rows for lawyers who stay are kept rather than deleted and inserted
    # again with the same primary key in one flush.
    wanted = set(lawyer_ids)
    kept = [recipient for recipient in item.recipients if recipient.user_id in wanted]
    added = wanted - {recipient.user_id for recipient in kept}
    item.recipients = [*kept, *(ItemRecipient(item_id=item.id, user_id=user_id) for user_id in added)]
