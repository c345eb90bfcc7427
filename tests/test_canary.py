"""A unique marker sent as a message, an answer, a filename and file content
must be nowhere at rest or in the logs, in any common encoding, and yet be
readable by the lawyer it was meant for: not even after the inbox decrypted
its summary and a lawyer searched for it."""

from __future__ import annotations

import base64
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from intake.db import engine
from intake.models import Base, Case
from tests.lawyer.helpers import csrf_token as staff_csrf_token
from tests.lawyer.helpers import log_in, totp_code
from tests.submit.helpers import ReadersFixture, create_readers, decrypt_attachment, decrypt_item
from tests.submit.multipart import (
    Text,
    Upload,
    codename_on,
    csrf_token,
    csrf_token_on,
    help_request_parts,
    kept_files_on,
    post_parts,
    request_tokens,
)

# Plaintext that leaked into a temp file would be about as large as what was sent.
MAX_TEMP_FILE_BYTES = 64 * 1024 * 1024


def encoded_forms(marker: str) -> list[bytes]:
    """The marker as UTF-8, UTF-16 (both byte orders) and base64 at every alignment."""
    raw = marker.encode()
    forms = [raw, marker.encode("utf-16-le"), marker.encode("utf-16-be")]
    for data in (raw, marker.encode("utf-16-le"), marker.encode("utf-16-be")):
        for offset in range(3):
            encoded = base64.b64encode(bytes(offset) + data)
            # Only the characters that depend on marker bytes alone.
            first_group = (offset + 2) // 3
            last_group = (offset + len(data)) // 3
            stable = encoded[4 * first_group : 4 * last_group]
            forms += [stable, stable.replace(b"+", b"-").replace(b"/", b"_")]
    return forms


def files_under(root: Path) -> Iterator[Path]:
    for directory, _subdirectories, names in os.walk(root, onerror=lambda _error: None):
        for name in names:
            path = Path(directory, name)
            if path.is_file() and not path.is_symlink():
                yield path


def new_temp_files(since: float) -> Iterator[Path]:
    for path in files_under(Path(tempfile.gettempdir())):
        try:
            status = path.stat()
        except OSError:
            continue
        if status.st_mtime >= since and status.st_size <= MAX_TEMP_FILE_BYTES:
            yield path


def database_rows(app: Flask) -> bytes:
    """Every value of every table, whatever the database (PostgreSQL has no file to scan here)."""
    dump = bytearray()
    with engine(app).connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    dump += value if isinstance(value, bytes) else str(value).encode()
                    dump += b"\0"
    return bytes(dump)


def leaks_at_rest(
    app: Flask,
    forms: list[bytes],
    started: float,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> list[tuple[str, bytes]]:
    """Where any form of the marker is: files of the app and blob store, new temp files, rows, logs."""
    if engine(app).dialect.name == "sqlite":
        with engine(app).begin() as connection:
            connection.execute(text("PRAGMA wal_checkpoint(FULL)"))
    config = app.config["INTAKE"]
    places = {
        str(path): path.read_bytes()
        for root in (Path(app.instance_path), config.blob_dir)
        for path in files_under(root)
    }
    places.update({str(path): path.read_bytes() for path in new_temp_files(started)})
    places["database rows"] = database_rows(app)
    captured = capfd.readouterr()
    places["logs"] = (caplog.text + captured.out + captured.err).encode()
    assert any(name.endswith(".sqlite3") for name in places) or engine(app).dialect.name != "sqlite"
    assert config.blob_dir.exists() and any(name.endswith(".age") for name in places)
    return [(name, form) for name, content in places.items() for form in forms if form in content]


@pytest.fixture
def readers(db_session: Session) -> ReadersFixture:
    return create_readers(db_session)


def test_a_canary_is_nowhere_but_in_the_ciphertext(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    readers: ReadersFixture,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level("DEBUG")
    started = time.time() - 1
    marker = f"канарейка-{uuid.uuid4().hex}"
    forms = encoded_forms(marker)

    # Given a submission and a follow-up that carry the marker everywhere they can
    token = request_tokens(client, "/request?lang=ru")
    files = [Upload(f"{marker}.txt", f"начало {marker} конец".encode(), content_type="text/plain")]
    receipt = post_parts(
        client, "/request", help_request_parts(token, f"Сообщение {marker}", files, country=marker)
    )
    codename = codename_on(receipt.get_data(as_text=True))
    login_token = csrf_token(client, "/codename")
    client.post("/codename", data={"csrf_token": login_token, "codename": codename})
    follow_up = [
        Text("csrf_token", csrf_token(client, "/replies")),
        Text("message", f"Ещё {marker}"),
        Upload("второй.bin", marker.encode("utf-16-le")),
    ]
    assert post_parts(client, "/replies", follow_up).status_code == 302

    # And a lawyer triaged the inbox (summaries decrypted) and searched for the marker itself
    staff = app.test_client()
    staff.environ_base["wsgi.url_scheme"] = "https"
    lawyer = readers.lawyer
    log_in(staff, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    assert marker in staff.get("/lawyer/").get_data(as_text=True)
    search_token = staff_csrf_token(staff.get("/lawyer/search").get_data(as_text=True))
    results = staff.post("/lawyer/search", data={"csrf_token": search_token, "query": marker})
    assert 'href="/lawyer/cases/1"' in results.get_data(as_text=True)

    # Then no stored byte, temp file or log line holds it in any encoding
    assert leaks_at_rest(app, forms, started, caplog, capfd) == []

    # And the lawyer's key reads every copy of it
    case = db_session.scalars(select(Case)).one()
    first, second = case.items
    identity = readers.lawyer.identity
    submission = decrypt_item(first, identity)
    assert marker in submission.message
    assert submission.fields["country"] == marker
    assert submission.attachments[0].filename == f"{marker}.txt"
    assert marker.encode() in decrypt_attachment(app, first.attachments[0], identity)
    assert marker in decrypt_item(second, identity).message
    assert decrypt_attachment(app, second.attachments[0], identity) == marker.encode("utf-16-le")


def test_a_canary_in_kept_files_and_an_expired_session_is_nowhere_but_in_the_ciphertext(
    app: Flask,
    client: FlaskClient,
    db_session: Session,
    readers: ReadersFixture,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level("DEBUG")
    started = time.time() - 1
    marker = f"канарейка-{uuid.uuid4().hex}"
    forms = encoded_forms(marker)

    # Given a request that comes back for a missing answer, its file kept for the corrected form
    tokens = request_tokens(client, "/request?lang=ru")
    files = [Upload(f"{marker}.txt", f"начало {marker} конец".encode(), content_type="text/plain")]
    returned = post_parts(
        client, "/request", help_request_parts(tokens, f"Сообщение {marker}", files, country=marker, help_kind="")
    )
    assert returned.status_code == 400
    # Then while the file waits, the marker is nowhere at rest
    assert leaks_at_rest(app, forms, started, caplog, capfd) == []

    corrected = [
        *help_request_parts(tokens, f"Сообщение {marker}", country=marker)[:-1],
        Text("kept_files", kept_files_on(returned.get_data(as_text=True))),
        Upload("", b""),
    ]
    assert post_parts(client, "/request", corrected).status_code == 200

    # Given a follow-up sent after the session expired, kept with its file while the codename is asked for
    client.post("/codename", data={"csrf_token": csrf_token(client, "/codename"), "codename": tokens.codename})
    replies_token = csrf_token(client, "/replies")
    with client.session_transaction() as cookie_session:
        cookie_session["source_expires"] = int(time.time()) - 1
    follow_up = [
        Text("csrf_token", replies_token),
        Text("message", f"Ещё {marker}"),
        Upload(f"второй {marker}.bin", marker.encode("utf-16-le")),
    ]
    resume = post_parts(client, "/replies", follow_up)
    assert resume.status_code == 401
    assert leaks_at_rest(app, forms, started, caplog, capfd) == []
    page = resume.get_data(as_text=True)
    send = [
        Text("csrf_token", csrf_token_on(page)),
        Text("codename", tokens.codename),
        Text("message", f"Ещё {marker}"),
        Text("kept_files", kept_files_on(page)),
        Upload("", b""),
    ]
    assert post_parts(client, "/replies", send).status_code == 302

    # Then, all sent, still nowhere at rest, and the lawyer reads every copy
    assert leaks_at_rest(app, forms, started, caplog, capfd) == []
    first, second = db_session.scalars(select(Case)).one().items
    identity = readers.lawyer.identity
    assert decrypt_item(first, identity).fields["country"] == marker
    assert marker.encode() in decrypt_attachment(app, first.attachments[0], identity)
    assert decrypt_item(second, identity).message == f"Ещё {marker}"
    assert decrypt_item(second, identity).attachments[0].filename == f"второй {marker}.bin"
    assert decrypt_attachment(app, second.attachments[0], identity) == marker.encode("utf-16-le")
