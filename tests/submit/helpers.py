"""What a test needs to look at stored submissions: rows, blob files, plaintext."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import Identity, decrypt_stream_padded, encrypt_stream_padded
from intake.db import session_factory
from intake.models import Attachment, Case, Item, ItemKind, Source
from intake.services.blobstore import BlobStore
from intake.services.items import AttachmentMeta, ItemPayload, open_item, seal_item
from tests.factories import LawyerFixture, create_lawyer, set_recovery_key


@dataclass(frozen=True)
class ReadersFixture:
    lawyer: LawyerFixture
    recovery: Identity


def create_readers(session: Session) -> ReadersFixture:
    lawyer = create_lawyer(session)
    return ReadersFixture(lawyer=lawyer, recovery=set_recovery_key(session))


@dataclass(frozen=True)
class StoredState:
    sources: int
    cases: int
    items: int
    attachments: int
    blob_files: list[Path]


def stored_state(app: Flask) -> StoredState:
    """Everything a submission could have left behind, rows and files (temp files included)."""
    with session_factory(app)() as session:
        counts = [
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Source, Case, Item, Attachment)
        ]
    blob_dir = app.config["INTAKE"].blob_dir
    files = sorted(path for path in blob_dir.rglob("*") if path.is_file()) if blob_dir.exists() else []
    return StoredState(*counts, blob_files=files)


NOTHING_STORED = StoredState(0, 0, 0, 0, [])


def decrypt_item(item: Item, identity: Identity) -> ItemPayload:
    return open_item(item.ciphertext, [identity.secret])


def decrypt_attachment(app: Flask, attachment: Attachment, identity: Identity) -> bytes:
    path = app.config["INTAKE"].blob_dir / attachment.blob_name[:2] / f"{attachment.blob_name}.age"
    plaintext = io.BytesIO()
    with path.open("rb") as ciphertext:
        decrypt_stream_padded(ciphertext, plaintext, [identity.secret])
    return plaintext.getvalue()


def add_reply(
    app: Flask, session: Session, readers: ReadersFixture, message: str, files: dict[str, bytes] | None = None
) -> Item:
    """A lawyer's reply as the lawyer pages store it: also encrypted to the source."""
    case = session.scalars(select(Case)).one()
    recipients = [readers.lawyer.identity.recipient, readers.recovery.recipient, case.source.reply_recipient]
    store = BlobStore(app.config["INTAKE"].blob_dir)
    metas: list[AttachmentMeta] = []
    rows: list[Attachment] = []
    for position, (filename, content) in enumerate((files or {}).items()):
        with store.writer() as blob:
            encrypt_stream_padded(io.BytesIO(content), blob, recipients)
            blob.publish()
        meta = AttachmentMeta(str(uuid.uuid4()), filename, "text/plain", len(content))
        metas.append(meta)
        rows.append(
            Attachment(
                id=uuid.UUID(meta.attachment_id),
                position=position,
                blob_name=blob.name,
                ciphertext_size=blob.size,
            )
        )
    item = Item(
        case=case,
        seq=case.activity_seq + 1,
        kind=ItemKind.REPLY,
        author_id=readers.lawyer.user.id,
        created_day=case.created_day,
        ciphertext=seal_item(ItemPayload(message=message, attachments=tuple(metas)), recipients),
        visible_to_source=True,
        attachments=rows,
    )
    case.activity_seq += 1
    case.item_count += 1
    session.add(item)
    session.commit()
    return item
