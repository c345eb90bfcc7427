"""What a test needs to look at stored submissions: rows, blob files, plaintext."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import Identity, decrypt_stream_padded
from intake.db import session_factory
from intake.models import Attachment, Case, Item, Source
from intake.services.blobstore import BlobStore
from intake.services.cases import add_reply as add_case_reply
from intake.services.cases import reply_recipients
from intake.services.items import ItemPayload, open_item
from intake.services.submissions import receive_upload, upload_limits
from tests.factories import LawyerFixture, create_lawyer, set_recovery_key
from tests.submit.multipart import BOUNDARY, Part, Upload, body_bytes


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
    """A lawyer's reply stored by the case service, its files received like any upload."""
    case = session.scalars(select(Case)).one()
    parts: list[Part] = [
        Upload(name, content, content_type="text/plain") for name, content in (files or {}).items()
    ]
    config = app.config["INTAKE"]
    with receive_upload(
        io.BytesIO(body_bytes(parts)),
        BOUNDARY.encode(),
        upload_limits(config),
        reply_recipients(session, case),
        BlobStore(config.blob_dir),
        lambda _fields: None,
    ) as upload:
        add_case_reply(session, case, readers.lawyer.user, message, upload.files)
    return session.scalars(
        select(Item).where(Item.case_id == case.id).order_by(Item.seq.desc()).limit(1)
    ).one()
