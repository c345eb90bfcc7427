"""Attachments leave as decrypted downloads: streamed, never inline, safely named."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from crypto import encrypt_stream_padded, generate_identity
from intake.models import Attachment
from intake.services.blobstore import BlobStore
from intake.services.downloads import DownloadFailed, content_disposition, decrypted_chunks, safe_filename
from tests.factories import create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import log_in, submit_directly, totp_code

RTL_OVERRIDE = "\u202e"


def download_path(case_number: int, attachment_id: object) -> str:
    return f"/lawyer/cases/{case_number}/attachments/{attachment_id}"


def test_download_is_an_attachment_with_safe_headers(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    hostile_name = f"../../invoice{RTL_OVERRIDE}fdp.exe"
    submitted = submit_directly(
        db_session,
        config,
        "see file",
        files=[(hostile_name, "text/html", b"<script>alert(1)</script>")],
    )
    response = lawyer_client.get(download_path(submitted.number, submitted.attachment_ids[0]))
    assert response.status_code == 200
    assert response.get_data() == b"<script>alert(1)</script>"
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition == "attachment; filename=\"invoicefdp.exe\"; filename*=UTF-8''invoicefdp.exe"
    page = lawyer_client.get(f"/lawyer/cases/{submitted.number}").get_data(as_text=True)
    assert RTL_OVERRIDE not in page and "invoicefdp.exe" in page


def test_non_ascii_names_keep_their_exact_form_in_filename_star() -> None:
    header = content_disposition('Заява "№1"; тест.pdf')
    fallback, exact = header.removeprefix("attachment; ").split("; filename*=UTF-8''")
    assert fallback.startswith('filename="') and fallback.endswith('.pdf"')
    assert all(32 <= ord(ch) < 127 for ch in fallback)
    assert '"' not in fallback[len('filename="') : -1] and ";" not in fallback[len('filename="') : -1]
    assert unquote(exact) == 'Заява "№1"; тест.pdf'


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("C:\\Users\\x\\report.docx", "report.docx"),
        ("/etc/passwd", "passwd"),
        ("..", "attachment"),
        ("", "attachment"),
        (".bashrc", "bashrc"),
        ("a\x00b\x1fc\u200fd\u2066.txt", "abcd.txt"),
        ("x" * 500, "x" * 180),
    ],
)
def test_safe_filename(name: str, expected: str) -> None:
    assert safe_filename(name) == expected


def test_a_lawyer_who_is_not_a_recipient_cannot_download(
    db_session: Session, lawyer_client: FlaskClient, new_client: NewClient, config: Config
) -> None:
    submitted = submit_directly(
        db_session, config, "file", files=[("a.txt", "text/plain", b"secret")]
    )
    newcomer = create_lawyer(db_session, email="newcomer@example.org")
    client = new_client()
    log_in(client, newcomer.user.email, newcomer.passphrase, totp_code(newcomer.totp_secret, None))
    assert client.get(download_path(submitted.number, submitted.attachment_ids[0])).status_code == 404


def test_attachment_must_belong_to_the_case_in_the_url(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    first = submit_directly(db_session, config, "one", files=[("a.txt", "text/plain", b"one")])
    second = submit_directly(db_session, config, "two")
    assert lawyer_client.get(download_path(second.number, first.attachment_ids[0])).status_code == 404


def test_a_large_file_streams_in_chunks(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    submitted = submit_directly(db_session, config, "big", files=[("big.bin", "x/y", content)])
    response = lawyer_client.get(download_path(submitted.number, submitted.attachment_ids[0]), buffered=False)
    chunks = list(response.response)
    assert len(chunks) > 3
    assert b"".join(chunks) == content
    response.close()


def test_tampered_ciphertext_breaks_the_stream_instead_of_finishing_it(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    # Given an attachment whose last chunk was altered on disk
    content = os.urandom(200_000)
    submitted = submit_directly(db_session, config, "file", files=[("f.bin", "x/y", content)])
    blob_name = db_session.scalar(select(Attachment.blob_name))
    assert blob_name is not None
    path = BlobStore(config.blob_dir).path_of(blob_name)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01
    path.write_bytes(bytes(data))
    # Then the download fails rather than ending as if complete
    with pytest.raises(DownloadFailed):
        lawyer_client.get(download_path(submitted.number, submitted.attachment_ids[0])).get_data()


def test_an_abandoned_download_closes_its_blob_and_starts_no_thread(config: Config) -> None:
    # Given a large blob and a client that reads one chunk and goes away
    identity = generate_identity()
    store = BlobStore(config.blob_dir)
    with store.writer() as blob:
        encrypt_stream_padded(_Zeros(20 * 1024 * 1024), blob, [identity.recipient])
        blob_name = blob.publish()
    threads_before = threading.active_count()
    chunks = decrypted_chunks(store, blob_name, identity.secret)
    assert next(chunks)
    # While it streams, the blob is open and the request's own thread does the work
    assert _open_descriptors_of(store.path_of(blob_name)) == 1
    assert threading.active_count() == threads_before
    chunks.close()
    # Then the blob is closed at once
    assert _open_descriptors_of(store.path_of(blob_name)) == 0


def _open_descriptors_of(path: Path) -> int:
    target = str(path.resolve())
    count = 0
    for descriptor in Path("/proc/self/fd").iterdir():
        try:
            if os.readlink(descriptor) == target:
                count += 1
        except FileNotFoundError:
            continue
    return count


class _Zeros:
    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int) -> bytes:
        chunk = min(size, self.left)
        self.left -= chunk
        return bytes(chunk)
