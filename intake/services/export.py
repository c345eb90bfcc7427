"""A case as a ZIP of age files, re-encrypted to a lawyer's own offline key.

Stored ciphertext is padded and encrypted to every lawyer and the recovery
key, and the lawyer's server key never leaves the server unwrapped, so an
export cannot copy blobs: each item and attachment is decrypted with the
identity the request unlocked, stripped of its padding and encrypted again,
unpadded, to the one recipient the lawyer typed in (made with `age-keygen`
on their own offline computer). The archive then opens with the stock `age`
tool and nothing else.

Nothing is written to disk, ciphertext included. Items are small and are
re-encrypted in memory while the export is prepared. Attachments are
re-encrypted while the ZIP streams out: a worker thread pulls each blob's
plaintext 1 MiB at a time (`downloads.decrypted_chunks`) and encrypts it
straight into the ZIP writer, whose output is a bounded queue that the
response drains (`downloads.pushed_chunks`). A few 1 MiB pieces are in
memory at any moment, whatever the file size.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy.orm import Session

from crypto import DecryptionError, Identity, Writer, encrypt, encrypt_stream
from crypto.streams import write_all
from intake.models import Case, Item, ItemKind, User
from intake.questions import answer_label, question_label
from intake.services import audit
from intake.services.blobstore import BlobStore
from intake.services.cases import case_items, staff_emails
from intake.services.clock import utc_now
from intake.services.downloads import ChunkReader, decrypted_chunks, pushed_chunks, safe_filename
from intake.services.items import AttachmentMeta, ItemPayload, open_item

# zipfile must choose ZIP64 before a streamed member starts. age adds 16 bytes
# per 64 KiB chunk (0.025 %) and a header under 1 KiB, so a file this far below
# the limit cannot cross it; only bigger ones get ZIP64, which keeps the rest
# readable by old unzip tools.
ZIP64_MARGIN = zipfile.ZIP64_LIMIT // 1024
# Owner-only permissions when unpacked (Unix mode bits live in the high 16 bits).
MEMBER_MODE = 0o600 << 16


@dataclass(frozen=True)
class ExportedItem:
    path: str
    # The item as JSON, already encrypted to the offline recipient.
    ciphertext: bytes = field(repr=False)


@dataclass(frozen=True)
class ExportedFile:
    path: str
    blob_name: str
    # Plaintext bytes, as the submitter sent them.
    size: int


@dataclass(frozen=True)
class UnreadableItem:
    seq: int
    kind: ItemKind
    created_day: dt.date


@dataclass(frozen=True)
class CaseExport:
    case_number: int
    day: dt.date
    offline_recipient: str
    items: list[ExportedItem]
    files: list[ExportedFile]
    # Items the exporting lawyer's key cannot open; the README names them.
    unreadable: list[UnreadableItem]

    @property
    def folder(self) -> str:
        return case_folder(self.case_number)

    @property
    def download_name(self) -> str:
        return f"{self.folder}.zip"


def case_folder(case_number: int) -> str:
    return f"case-{case_number}"


def prepare_export(
    session: Session, case: Case, viewer: User, identity: Identity, offline_recipient: str
) -> CaseExport:
    """Re-encrypt every item the viewer can read to `offline_recipient`, list the files, audit.

    Runs in the request, so question and answer labels come out in the
    lawyer's language; the database is not needed once the ZIP streams.
    """
    items = case_items(session, case)
    emails = staff_emails(session)
    folder = case_folder(case.number)
    exported_items: list[ExportedItem] = []
    exported_files: list[ExportedFile] = []
    unreadable: list[UnreadableItem] = []
    for item in items:
        payload = _readable_payload(item, viewer, identity)
        if payload is None:
            unreadable.append(UnreadableItem(item.seq, item.kind, item.created_day))
            continue
        files = _item_files(item, payload, folder)
        exported_files += [exported for _, exported in files]
        document = _item_document(case, item, payload, files, emails, folder)
        plaintext = json.dumps(document, ensure_ascii=False, indent=2).encode()
        exported_items.append(
            ExportedItem(
                path=f"{folder}/{item.seq:03d}-{item.kind.value}.json.age",
                ciphertext=encrypt(plaintext, [offline_recipient]),
            )
        )
    audit.record(session, "case.exported", actor=viewer, case_number=case.number)
    session.commit()
    return CaseExport(
        case_number=case.number,
        day=utc_now().date(),
        offline_recipient=offline_recipient,
        items=exported_items,
        files=exported_files,
        unreadable=unreadable,
    )


def archive_chunks(
    store: BlobStore, export: CaseExport, readme: str, identity_secret: str
) -> Iterator[bytes]:
    """The ZIP, streamed: the README, each item, then each attachment re-encrypted on the fly.

    Raises DownloadFailed if an attachment cannot be decrypted; the server then
    drops the connection and the browser marks the download as failed.
    """

    def write_archive(writer: Writer) -> None:
        sink = _ArchiveSink(writer)
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
            with _member(archive, sink, f"{export.folder}/README.txt", export.day) as member:
                member.write(readme.encode())
            for item in export.items:
                with _member(archive, sink, item.path, export.day) as member:
                    member.write(item.ciphertext)
            for file in export.files:
                large = file.size > zipfile.ZIP64_LIMIT - ZIP64_MARGIN
                with _member(archive, sink, file.path, export.day, force_zip64=large) as member:
                    plaintext = decrypted_chunks(store, file.blob_name, identity_secret)
                    try:
                        encrypt_stream(ChunkReader(plaintext), member, [export.offline_recipient])
                    finally:
                        plaintext.close()

    return pushed_chunks(write_archive, thread_name="case-export")


def _readable_payload(item: Item, viewer: User, identity: Identity) -> ItemPayload | None:
    if viewer.id not in {recipient.user_id for recipient in item.recipients}:
        return None
    try:
        return open_item(item.ciphertext, [identity.secret])
    except DecryptionError:
        return None


def _item_files(item: Item, payload: ItemPayload, folder: str) -> list[tuple[AttachmentMeta, ExportedFile]]:
    """The item's attachments that still have a blob, named `files/<seq>-<n>.age`.

    Numbers only: the ZIP's entry names are readable without any key, so the
    real filename stays inside the encrypted item document.
    """
    blob_names = {str(attachment.id): attachment.blob_name for attachment in item.attachments}
    present = [meta for meta in payload.attachments if meta.attachment_id in blob_names]
    return [
        (
            meta,
            ExportedFile(
                path=f"{folder}/files/{item.seq:03d}-{position}.age",
                blob_name=blob_names[meta.attachment_id],
                size=meta.size,
            ),
        )
        for position, meta in enumerate(present, start=1)
    ]


def _item_document(
    case: Case,
    item: Item,
    payload: ItemPayload,
    files: list[tuple[AttachmentMeta, ExportedFile]],
    emails: dict[uuid.UUID, str],
    folder: str,
) -> dict[str, object]:
    """What the lawyer reads offline: each answer beside the question asked, and where each file is."""
    return {
        "case": case.number,
        "seq": item.seq,
        "kind": item.kind.value,
        "day": item.created_day.isoformat(),
        "author": emails.get(item.author_id) if item.author_id else None,
        "visible_to_submitter": item.visible_to_source,
        "fields": [
            {"name": name, "question": question_label(name), "answer": answer_label(name, value)}
            for name, value in payload.fields.items()
        ],
        "message": payload.message,
        "attachments": [
            {
                "file": exported.path.removeprefix(f"{folder}/"),
                "filename": safe_filename(meta.filename),
                "content_type": meta.content_type,
                "size": meta.size,
            }
            for meta, exported in files
        ],
    }


@contextmanager
def _member(
    archive: zipfile.ZipFile, sink: _ArchiveSink, path: str, day: dt.date, force_zip64: bool = False
) -> Iterator[IO[bytes]]:
    """One ZIP member; if writing it fails, nothing more leaves for the client.

    Closing a member writes its CRC and sizes, and closing the archive its
    directory: after a failure either would make a cut-off file look complete.
    """
    info = zipfile.ZipInfo(path, date_time=(day.year, day.month, day.day, 0, 0, 0))
    info.external_attr = MEMBER_MODE
    with archive.open(info, "w", force_zip64=force_zip64) as member:
        try:
            yield member
        except BaseException:
            sink.discard()
            raise


class _ArchiveSink:
    """zipfile's output file: passes bytes on until `discard()`, then swallows them.

    It has no `tell`, so zipfile streams (sizes in data descriptors after each member).
    """

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._discarding = False

    def write(self, data: bytes) -> int:
        if not self._discarding:
            write_all(self._writer, data)
        return len(data)

    def flush(self) -> None:
        """zipfile calls this on close; every write has already been handed on."""

    def close(self) -> None:
        """The response ends when the chunk generator does; nothing is held here."""

    def discard(self) -> None:
        self._discarding = True
