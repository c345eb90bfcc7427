"""Files that arrived with a form the submitter must correct: kept, encrypted, for the next send.

Nobody should upload a file twice over Tor. When a form comes back (an answer
to fix, a file over the limit, an expired session) the files that did arrive
stay as age ciphertext under `kept/` (see `BlobStore.keep`), and the form
carries their list, sealed under a key derived from SECRET_KEY, in a hidden
field. The server stores no list and no name: names are shown back to the
same submitter from the sealed field only. Sending the corrected form
attaches them; an abandoned form's files are swept after a day or two.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass

from crypto import DecryptionError, derive_subkey, open_sealed, seal
from intake.services.blobstore import BlobStore
from intake.services.items import AttachmentMeta
from intake.services.submissions import EncryptedFile

KEPT_FILES_FIELD = "kept_files"
_SUBKEY_PURPOSE = "kept-files"
_CONTEXT = b"intake/kept-files/v1"


class InvalidKeptFiles(ValueError):
    """The form's list of kept files is damaged or not ours."""


@dataclass(frozen=True)
class KeptFiles:
    """What a re-rendered form shows and carries."""

    filenames: list[str]
    # The hidden field's value; empty when nothing is kept.
    sealed: str


@dataclass(frozen=True)
class KeptEntry:
    blob_name: str
    meta: AttachmentMeta
    # The file's digest (EncryptedFile.content_digest), so that a form sent
    # again is known for the same form whether its files were kept or chosen again.
    content_digest: bytes


@dataclass(frozen=True)
class ReopenedFiles:
    files: list[EncryptedFile]
    # Kept too long (swept) or already sent: the submitter must choose these again.
    gone: list[KeptEntry]

    def content_digests(self) -> list[bytes]:
        """Of every file the form names, gone ones included (a form already stored lost them so)."""
        return [file.content_digest for file in self.files] + [entry.content_digest for entry in self.gone]


NOTHING_KEPT = KeptFiles(filenames=[], sealed="")


def keep_files(store: BlobStore, secret_key: bytes, files: Sequence[EncryptedFile]) -> KeptFiles:
    """Move every file to `kept/` and seal their list for the form."""
    if not files:
        return NOTHING_KEPT
    for file in files:
        store.keep(file.blob)
    entries = [
        {"blob": file.blob.name, "meta": asdict(file.meta), "content_digest": file.content_digest.hex()}
        for file in files
    ]
    sealed = seal(json.dumps(entries).encode(), _key(secret_key), _CONTEXT)
    return KeptFiles([file.meta.filename for file in files], base64.urlsafe_b64encode(sealed).decode())


def read_kept_list(secret_key: bytes, sealed: str | None) -> list[KeptEntry]:
    """The kept files a form names; InvalidKeptFiles if its list is damaged or not ours."""
    if not sealed:
        return []
    try:
        raw = open_sealed(base64.urlsafe_b64decode(sealed.encode("ascii")), _key(secret_key), _CONTEXT)
        return [
            # Lists sealed before files had this digest (for a day or two after an upgrade) name none.
            KeptEntry(
                entry["blob"], AttachmentMeta(**entry["meta"]), bytes.fromhex(entry.get("content_digest", ""))
            )
            for entry in json.loads(raw)
        ]
    except (UnicodeError, binascii.Error, ValueError, TypeError, KeyError, DecryptionError):
        raise InvalidKeptFiles("the form's kept files are not a list this service made") from None


@contextmanager
def reopen_kept_files(store: BlobStore, entries: Sequence[KeptEntry]) -> Iterator[ReopenedFiles]:
    """Those kept files, locked and ready to publish; those not published stay kept."""
    with ExitStack() as held:
        files: list[EncryptedFile] = []
        gone: list[KeptEntry] = []
        for entry in entries:
            try:
                blob = held.enter_context(store.reopen_kept(entry.blob_name))
            except FileNotFoundError:
                gone.append(entry)
                continue
            files.append(EncryptedFile(entry.meta, blob, entry.content_digest))
        yield ReopenedFiles(files, gone)


def _key(secret_key: bytes) -> bytes:
    return derive_subkey(secret_key, _SUBKEY_PURPOSE)
