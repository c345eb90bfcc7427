"""Resumable chunked uploads of browser-made ciphertext: append, resume, refuse, sweep."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from crypto import decrypt_padded, pad
from intake import create_app
from intake.db import engine
from intake.services.blobstore import BlobStore, midnight_utc_today
from intake.services.chunked_uploads import ChunkedUploads
from tests.conftest import make_config
from tests.crypto.test_age_header import age_cli_encrypt
from tests.submit.chunked import create, page_token, patch, sha256_header, upload_whole
from tests.submit.helpers import ReadersFixture


def browser_ciphertext(readers: ReadersFixture, plaintext: bytes) -> bytes:
    """What the page's script makes: padded plaintext in age, one stanza per recipient, no grease."""
    return age_cli_encrypt(pad(plaintext), [readers.lawyer.identity.recipient, readers.recovery.recipient])


def upload_files(app: Flask) -> list[Path]:
    directory = app.config["INTAKE"].blob_dir / "uploads"
    return sorted(directory.iterdir()) if directory.exists() else []


def test_chunks_build_the_file_and_the_finished_file_is_kept(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    ciphertext = browser_ciphertext(readers, os.urandom(300_000))
    token = page_token(client)

    location = upload_whole(client, token, ciphertext)

    head = client.head(location)
    assert head.status_code == 200
    assert head.headers["Upload-Offset"] == str(len(ciphertext))
    [stored] = upload_files(app)
    assert stored.read_bytes() == ciphertext


def test_a_cut_upload_resumes_from_the_servers_offset(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    ciphertext = browser_ciphertext(readers, os.urandom(200_000))
    token = page_token(client)
    location = create(client, token, len(ciphertext)).headers["Location"]
    assert patch(client, token, location, 0, ciphertext[:70_000]).status_code == 204

    # Given a chunk lost on the way (the client does not know how far it got)
    offset = int(client.head(location).headers["Upload-Offset"])
    assert offset == 70_000
    # When the client resends from a stale offset it is told, then resumes
    assert patch(client, token, location, 0, ciphertext[:70_000]).status_code == 409
    assert patch(client, token, location, offset, ciphertext[offset:]).status_code == 204

    [stored] = upload_files(app)
    assert stored.read_bytes() == ciphertext


def test_a_tampered_chunk_is_refused_and_the_offset_stays(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    ciphertext = browser_ciphertext(readers, b"x" * 5000)
    token = page_token(client)
    location = create(client, token, len(ciphertext)).headers["Location"]
    tampered = bytearray(ciphertext)
    tampered[200] ^= 1

    response = patch(client, token, location, 0, bytes(tampered), checksum=sha256_header(ciphertext))

    assert response.status_code == 460
    assert client.head(location).headers["Upload-Offset"] == "0"
    [stored] = upload_files(app)
    assert stored.read_bytes() == b""


def test_a_malformed_age_header_is_refused_and_nothing_is_kept(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    # One stanza where two recipients are expected
    ciphertext = age_cli_encrypt(pad(b"x" * 5000), [readers.lawyer.identity.recipient])
    token = page_token(client)
    location = create(client, token, len(ciphertext)).headers["Location"]

    response = patch(client, token, location, 0, ciphertext)

    assert response.status_code == 422
    assert upload_files(app) == []
    assert client.head(location).status_code == 404


def test_plaintext_sent_as_an_upload_is_refused_and_nothing_is_kept(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    plaintext = "Секретный текст, не зашифрованный".encode() * 40
    token = page_token(client)
    location = create(client, token, len(plaintext)).headers["Location"]

    assert patch(client, token, location, 0, plaintext).status_code == 422
    assert upload_files(app) == []


def test_another_client_cannot_see_or_append_to_an_upload(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    ciphertext = browser_ciphertext(readers, b"x" * 5000)
    location = create(client, page_token(client), len(ciphertext)).headers["Location"]
    intruder = app.test_client()
    intruder_token = page_token(intruder)

    assert intruder.head(location).status_code == 404
    assert patch(intruder, intruder_token, location, 0, ciphertext).status_code == 404
    assert intruder.delete(location, headers={"X-CSRFToken": intruder_token}).status_code == 404
    [stored] = upload_files(app)
    assert stored.read_bytes() == b""


def test_calls_without_the_csrf_token_are_refused(client: FlaskClient, readers: ReadersFixture) -> None:
    token = page_token(client)
    assert client.post("/uploads", headers={"Upload-Length": "2000"}).status_code == 400
    location = create(client, token, 2000).headers["Location"]
    response = client.patch(
        location,
        data=b"x" * 100,
        headers={"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"},
    )
    assert response.status_code == 400


def test_a_chunk_sent_as_a_form_is_refused_unread(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    token = page_token(client)
    location = create(client, token, 5000).headers["Location"]
    body = b'--b\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nplain\r\n--b--\r\n'

    response = client.patch(
        location,
        data=body,
        headers={
            "X-CSRFToken": token,
            "Content-Type": "multipart/form-data; boundary=b",
            "Upload-Offset": "0",
            "Upload-Checksum": sha256_header(body),
        },
    )

    assert response.status_code == 415
    [stored] = upload_files(app)
    assert stored.read_bytes() == b""


def test_limits_are_enforced(app: Flask, client: FlaskClient, readers: ReadersFixture) -> None:
    token = page_token(client)
    too_long = 2 * app.config["INTAKE"].max_file_bytes
    assert create(client, token, too_long).status_code == 413
    assert create(client, token, 0).status_code == 400
    location = create(client, token, 2000).headers["Location"]
    assert patch(client, token, location, 0, b"x" * 2001).status_code == 413
    assert upload_files(app)[0].read_bytes() == b""


def test_cancel_deletes_the_partial_file(app: Flask, client: FlaskClient, readers: ReadersFixture) -> None:
    token = page_token(client)
    location = create(client, token, 5000).headers["Location"]
    assert patch(client, token, location, 0, b"x" * 100).status_code == 204

    assert client.delete(location, headers={"X-CSRFToken": token}).status_code == 204

    assert upload_files(app) == []


def test_sweep_removes_abandoned_uploads_only(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    token = page_token(client)
    create(client, token, 5000)
    create(client, token, 5000)
    abandoned, live = upload_files(app)
    # Partials carry only the day; one last written two days ago is abandoned
    old = midnight_utc_today() - 2 * 86400
    os.utime(abandoned, (old, old))

    result = app.test_cli_runner().invoke(args=["intake", "sweep"])

    assert result.exit_code == 0, result.output
    assert "removed 1 abandoned chunked upload(s)" in result.output
    assert upload_files(app) == [live]


def test_a_partial_carries_only_the_day(app: Flask, client: FlaskClient, readers: ReadersFixture) -> None:
    token = page_token(client)
    location = create(client, token, 5000).headers["Location"]
    assert patch(client, token, location, 0, b"x" * 100).status_code == 204

    [partial] = upload_files(app)
    for path in (partial, partial.parent):
        assert path.stat().st_mtime == midnight_utc_today(), path


def test_a_finished_upload_publishes_as_a_blob_that_decrypts(app: Flask, readers: ReadersFixture) -> None:
    store = BlobStore(app.config["INTAKE"].blob_dir)
    uploads = ChunkedUploads(store)
    plaintext = os.urandom(80_000)
    ciphertext = age_cli_encrypt(pad(plaintext), [readers.lawyer.identity.recipient])
    status = uploads.create(len(ciphertext), 10**9)
    with open(uploads.directory / f"{status.upload_id}-{len(ciphertext)}.partial", "wb") as handle:
        handle.write(ciphertext)

    with uploads.finished_blob(status.upload_id, expected_recipients=1) as blob:
        name = blob.publish()

    assert blob.size == len(ciphertext)
    assert decrypt_padded(store.path_of(name).read_bytes(), [readers.lawyer.identity.secret]) == plaintext
    assert list(uploads.directory.iterdir()) == []


@pytest.mark.parametrize("bad_id", ["../../etc", "0" * 31, "Z" * 32])
def test_upload_ids_are_checked(client: FlaskClient, readers: ReadersFixture, bad_id: str) -> None:
    page_token(client)
    assert client.head(f"/uploads/{bad_id}").status_code == 404


def test_a_service_wide_limit_caps_upload_starts_from_fresh_cookies(
    tmp_path: Path, database_url: str, readers: ReadersFixture
) -> None:
    # Given a service-wide budget of two chunked uploads started per hour
    app = create_app(make_config(tmp_path, database_url, INTAKE_GLOBAL_UPLOAD_START_RATE_LIMIT="2 per hour"))
    try:
        # When junk without a token comes first, then each start from a fresh browser
        for _ in range(5):
            assert app.test_client().post("/uploads", headers={"Upload-Length": "5000"}).status_code == 400
        answers = []
        for _ in range(3):
            client = app.test_client()
            answers.append(create(client, page_token(client), 5000).status_code)
        # Then dropping the cookie does not escape it, and the junk spent nothing
        assert answers == [201, 201, 429]
    finally:
        engine(app).dispose()
