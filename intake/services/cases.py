"""Working a case: reading items, replying, notes, status and assignment.

Item contents are decrypted only while a case page is rendered, with the
identity the request unlocked, and never written anywhere.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from crypto import DecryptionError, Identity
from intake.models import (
    Case,
    CaseStatus,
    Item,
    ItemKind,
    ItemRecipient,
    User,
    UserStatus,
)
from intake.services import audit
from intake.services.clock import utc_today
from intake.services.downloads import safe_filename
from intake.services.items import ItemPayload, open_item, seal_item
from intake.services.keyring import RecipientSet, submission_recipients, vetted_lawyers
from intake.services.seen_cases import forget_seen, mark_seen
from intake.services.submissions import EncryptedFile, attachment_rows

MAX_MESSAGE_LENGTH = 100_000


class NobodyCanRead(RuntimeError):
    """There is no vetted lawyer or no recovery key, so nothing new may be encrypted."""


# Finding cases --------------------------------------------------------------------


def case_by_number(session: Session, number: int) -> Case | None:
    return session.scalar(select(Case).where(Case.number == number))


def assignable_lawyers(session: Session) -> list[User]:
    return vetted_lawyers(session)


# Reading a case ---------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentView:
    attachment_id: uuid.UUID
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ItemView:
    seq: int
    kind: ItemKind
    created_day: dt.date
    author_email: str | None
    visible_to_source: bool
    # None when this viewer's key is not among the recipients or decryption failed.
    payload: ItemPayload | None = field(repr=False)
    attachments: list[AttachmentView]
    # Who can decrypt the item, for items this viewer cannot read.
    reader_emails: list[str]


def case_items(session: Session, case: Case) -> list[Item]:
    """The case's items in order, with who can read them and their attachments loaded."""
    return list(
        session.scalars(
            select(Item)
            .where(Item.case_id == case.id)
            .order_by(Item.seq)
            .options(selectinload(Item.recipients), selectinload(Item.attachments))
        )
    )


def staff_emails(session: Session) -> dict[uuid.UUID, str]:
    return {user_id: email for user_id, email in session.execute(select(User.id, User.email))}


def read_case(session: Session, case: Case, viewer: User, identity: Identity) -> list[ItemView]:
    """Decrypt every item the viewer's key can open, mark the case read, audit the view."""
    items = case_items(session, case)
    emails = staff_emails(session)
    views = [_item_view(item, viewer, identity, emails) for item in items]
    mark_seen(session, case, viewer.id)
    audit.record(session, "case.viewed", actor=viewer, case_number=case.number)
    session.commit()
    return views


def _item_view(item: Item, viewer: User, identity: Identity, emails: dict[uuid.UUID, str]) -> ItemView:
    reader_ids = {recipient.user_id for recipient in item.recipients}
    payload = None
    if viewer.id in reader_ids:
        try:
            payload = open_item(item.ciphertext, [identity.secret])
        except DecryptionError:
            payload = None
    stored = {str(attachment.id): attachment for attachment in item.attachments}
    attachments = [
        AttachmentView(
            attachment_id=stored[meta.attachment_id].id,
            filename=safe_filename(meta.filename),
            content_type=meta.content_type,
            size=meta.size,
        )
        for meta in (payload.attachments if payload else ())
        if meta.attachment_id in stored
    ]
    return ItemView(
        seq=item.seq,
        kind=item.kind,
        created_day=item.created_day,
        author_email=emails.get(item.author_id) if item.author_id else None,
        visible_to_source=item.visible_to_source,
        payload=payload,
        attachments=attachments,
        reader_emails=sorted(emails[user_id] for user_id in reader_ids if user_id in emails),
    )


# Writing to a case ------------------------------------------------------------------


def reply_recipients(session: Session, case: Case, recipients: RecipientSet | None = None) -> list[str]:
    """Whom a reply and its files are encrypted to: the submitter's codename key, the lawyers, recovery.

    Pass the `recipients` that `add_reply` will be given, so the files and the
    reply are sealed to the same people even if somebody is vetted meanwhile.
    """
    recipients = recipients or current_recipients(session)
    return [case.source.reply_recipient, *recipients.recipients]


def add_reply(
    session: Session,
    case: Case,
    author: User,
    message: str,
    files: Sequence[EncryptedFile] = (),
    *,
    status_after: CaseStatus | None = None,
    recipients: RecipientSet | None = None,
) -> None:
    """A reply the submitter reads with their codename; lawyers and recovery can read it too.

    `files` were encrypted to `reply_recipients` (given the same
    `recipients`) as they were received; they are published with the commit,
    and deleted again if the reply cannot be stored. `status_after` is the
    status the case moves to with the reply (the reply form preselects "waiting
    for the submitter" first); None leaves it as it is.
    """
    recipients = recipients or current_recipients(session)
    payload = ItemPayload(message=message, attachments=tuple(file.meta for file in files))
    item = _append_item(
        session,
        case,
        author,
        ItemKind.REPLY,
        seal_item(payload, reply_recipients(session, case, recipients)),
        recipients,
        visible_to_source=True,
    )
    item.attachments = attachment_rows(files)
    audit.record(session, "case.replied", actor=author, case_number=case.number)
    if status_after is not None and status_after is not case.status:
        case.status = status_after
        audit.record(session, "case.status", actor=author, case_number=case.number, detail=status_after.value)
    try:
        for file in files:
            file.blob.publish()
        session.commit()
    except BaseException:
        session.rollback()
        for file in files:
            if file.blob.published:
                file.blob.store.delete(file.blob.name)
        raise


def add_note(session: Session, case: Case, author: User, message: str) -> None:
    """An internal note: encrypted to lawyers and recovery, never to the submitter."""
    recipients = current_recipients(session)
    _append_item(
        session,
        case,
        author,
        ItemKind.NOTE,
        seal_item(ItemPayload(message=message), recipients.recipients),
        recipients,
        visible_to_source=False,
    )
    audit.record(session, "case.noted", actor=author, case_number=case.number)
    session.commit()


def current_recipients(session: Session) -> RecipientSet:
    recipients = submission_recipients(session)
    if recipients is None:
        raise NobodyCanRead
    return recipients


def _append_item(
    session: Session,
    case: Case,
    author: User,
    kind: ItemKind,
    ciphertext: bytes,
    recipients: RecipientSet,
    visible_to_source: bool,
) -> Item:
    # Lock the case row so concurrent writers take turns at the next seq
    # (PostgreSQL); SQLite serialises writers on its own.
    session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
    session.refresh(case)
    next_seq = (session.scalar(select(func.max(Item.seq)).where(Item.case_id == case.id)) or 0) + 1
    today = utc_today()
    item = Item(
        id=uuid.uuid4(),
        case_id=case.id,
        seq=next_seq,
        kind=kind,
        author_id=author.id,
        created_day=today,
        ciphertext=ciphertext,
        visible_to_source=visible_to_source,
    )
    item.recipients = [ItemRecipient(item_id=item.id, user_id=user_id) for user_id in recipients.lawyer_ids]
    session.add(item)
    case.activity_seq += 1
    case.item_count += 1
    case.last_activity_day = today
    forget_seen(session, case)
    # The author has seen what they wrote; it should not mark the case unread for them.
    mark_seen(session, case, author.id)
    return item


def set_status(session: Session, case: Case, actor: User, status: CaseStatus) -> None:
    if status is not case.status:
        # Retention counts from the last activity: closing a case that was
        # quiet for months must not get it deleted by the next sweep.
        case.last_activity_day = utc_today()
    case.status = status
    audit.record(session, "case.status", actor=actor, case_number=case.number, detail=status.value)
    session.commit()


def assign(session: Session, case: Case, actor: User, assignee_id: uuid.UUID | None) -> None:
    """Assign to a vetted lawyer, or to nobody; anyone else is refused."""
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if assignee is None or assignee.status is not UserStatus.VETTED:
            raise ValueError("only vetted lawyers can be assigned")
    case.assignee_id = assignee_id
    audit.record(
        session,
        "case.assigned",
        actor=actor,
        case_number=case.number,
        detail=str(assignee_id) if assignee_id else None,
    )
    session.commit()
