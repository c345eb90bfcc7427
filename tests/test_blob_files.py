"""Blob files on disk: the sweeper never takes an upload in flight, and no file dates a submission finer than the day."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config
from intake.services.blobstore import GATHERED_WRITE_BYTES, BlobStore
from tests.conftest import ROOT
from tests.submit.helpers import ReadersFixture, create_readers, stored_state
from tests.submit.multipart import Upload, help_request_parts, post_parts, request_tokens

TWO_HOURS = 2 * 3600


@pytest.fixture
def readers(db_session: Session) -> ReadersFixture:
    return create_readers(db_session)


def sweep(app: Flask) -> str:
    result = app.test_cli_runner().invoke(args=["intake", "sweep"])
    assert result.exit_code == 0, result.output
    return result.output


def look_old(path: Path) -> None:
    """What an upload that has run for two hours looks like to a sweeper that goes by file times."""
    long_ago = time.time() - TWO_HOURS
    os.utime(path, (long_ago, long_ago))


def test_a_sweep_never_takes_the_files_of_an_upload_in_flight(app: Flask, config: Config) -> None:
    store = BlobStore(config.blob_dir)
    # Given a first file finished (and published, its row not yet committed)
    # and a second still streaming, two hours into the upload
    with store.writer() as first, store.writer() as second:
        first.write(b"age ciphertext of the first file")
        first_path = store.path_of(first.publish())
        second.write(b"age ciphertext of the second file, so far")
        look_old(first_path)
        look_old(second.temp_path)

        # When the operator's cron runs the sweep meanwhile
        output = sweep(app)

        # Then both files are still there for the upload to finish
        assert "removed 0 orphaned blob file(s)" in output
        assert first_path.exists()
        assert second.temp_path.exists()
        second.write(b" and the rest")
        second.publish()


def test_a_sweep_removes_what_a_crashed_upload_left(app: Flask, config: Config, tmp_path: Path) -> None:
    store = BlobStore(config.blob_dir)
    # Given a process that died mid-upload (the kernel dropped its lock) and
    # one that died between publishing a blob and committing its row
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from intake.services.blobstore import BlobStore\n"
        "store = BlobStore(Path(sys.argv[1]))\n"
        "with store.writer() as published, store.writer() as partial:\n"
        "    published.write(b'ciphertext'); published.publish()\n"
        "    partial.write(b'cipher')\n"
        "    os._exit(9)\n"
    )
    crashed = subprocess.run([sys.executable, "-c", script, str(store.root)], cwd=ROOT, check=False)
    assert crashed.returncode == 9
    assert len(stored_state_files(store)) == 2

    # When the sweep runs, at once
    output = sweep(app)

    # Then nothing is left of either
    assert "removed 2 orphaned blob file(s)" in output
    assert stored_state_files(store) == []


def stored_state_files(store: BlobStore) -> list[Path]:
    return sorted(path for path in store.root.rglob("*") if path.is_file())


def midnight_utc_today() -> float:
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC).timestamp()


def assert_dated_to_the_day(path: Path, modified_only: bool = False) -> None:
    status = path.stat()
    assert status.st_mtime == midnight_utc_today(), path
    if not modified_only:
        assert status.st_atime == midnight_utc_today(), path


def test_a_partial_blob_carries_only_the_day(config: Config) -> None:
    store = BlobStore(config.blob_dir)
    with store.writer() as blob:
        blob.write(b"some ciphertext")
        blob.flush()
        assert_dated_to_the_day(blob.temp_path)
        assert_dated_to_the_day(blob.temp_path.parent)


def test_gathered_writes_reach_the_blob_whole_in_large_pieces(config: Config) -> None:
    piece = os.urandom(8 * 1024)
    pieces_below = GATHERED_WRITE_BYTES // len(piece) - 1
    store = BlobStore(config.blob_dir)
    with store.writer() as blob:
        with blob.gathered_writes() as writer:
            # Small writes, as an encryptor makes them, stay gathered below the piece size
            for _ in range(pieces_below):
                writer.write(piece)
            assert blob.temp_path.stat().st_size == 0
            # and reach the file together once they fill a piece
            writer.write(piece)
            assert blob.temp_path.stat().st_size == GATHERED_WRITE_BYTES
            writer.write(piece)
            writer.write(b"the last few bytes")
            assert blob.temp_path.stat().st_size == GATHERED_WRITE_BYTES
        # The rest arrives when the block ends, dated to the day like every write
        assert_dated_to_the_day(blob.temp_path)
        assert blob.temp_path.read_bytes() == piece * (pieces_below + 2) + b"the last few bytes"
        assert blob.size == blob.temp_path.stat().st_size


def test_stored_blob_files_and_their_directories_carry_only_the_day(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    files = [Upload("фото.jpg", b"\xff\xd8 a photo"), Upload("письмо.txt", "письмо".encode())]
    response = post_parts(client, "/request", help_request_parts(request_tokens(client, "/request"), files=files))
    assert response.status_code == 200

    blob_dir = app.config["INTAKE"].blob_dir
    stored = stored_state(app).blob_files
    assert len(stored) == 2
    for path in stored:
        assert_dated_to_the_day(path)
    # Listing a directory (as this test just did) moves its access time unless
    # the volume is mounted noatime, as docs/operators.md asks.
    for path in (path for path in [blob_dir, *blob_dir.rglob("*")] if path.is_dir()):
        assert_dated_to_the_day(path, modified_only=True)
