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
from intake.services.items import ItemPayload, open_item
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
        counts = [session.scalar(select(func.count()).select_from(model)) or 0 for model in (Source, Case, Item, Attachment)]
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
