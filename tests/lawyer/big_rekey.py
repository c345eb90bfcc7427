"""Re-key a case with one huge attachment through the real app, and report the memory it took.

Run as `python -m tests.lawyer.big_rekey WORK_DIR FILE_SIZE`; prints one JSON
line. A separate process so that the peak it reports belongs to this re-key
alone (see test_rekey.py). The case arrives through the real upload path
first; the peak is reset after that, so the upload's own buffers do not hide
the re-key's.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crypto import decrypt_stream_padded
from intake import create_app, migrate
from intake.db import session_factory
from intake.models import Attachment, Case, Item
from intake.services.blobstore import BlobStore
from tests.conftest import make_config
from tests.factories import create_lawyer
from tests.lawyer.big_export import peak_rss_bytes, reset_peak_rss, submit
from tests.lawyer.helpers import csrf_token, log_in, totp_code
from tests.submit.big_upload import BLOCK, HashingSink, generated
from tests.submit.helpers import create_readers
from tests.submit.multipart import Upload


def blob_name_of(sessions: sessionmaker[Session], case_number: int) -> str:
    with sessions() as session:
        name = session.scalar(
            select(Attachment.blob_name).join(Item).join(Case).where(Case.number == case_number)
        )
    assert name is not None
    return str(name)


def main(work_dir: Path, size: int) -> dict[str, object]:
    database_url = f"sqlite:///{work_dir / 'data' / 'intake.sqlite3'}"
    (work_dir / "data").mkdir(parents=True)
    migrate.upgrade(database_url)
    config = make_config(work_dir, database_url)
    app = create_app(config)
    sessions = session_factory(app)
    with sessions() as session:
        lawyer = create_readers(session).lawyer
    submitter = app.test_client()
    submitter.environ_base["wsgi.url_scheme"] = "https"

    # Case 1 warms up every re-key code path; case 2 holds the huge file.
    digest = hashlib.sha256()
    submit(submitter, [Upload("warm-up.bin", BLOCK)])
    submit(submitter, [Upload("huge.bin", generated(size, digest), size=size)])
    old_blob = blob_name_of(sessions, 2)
    with sessions() as session:
        newcomer = create_lawyer(session, email="newcomer@example.org")

    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))

    def rekey(case_number: int) -> None:
        path = f"/lawyer/cases/{case_number}"
        token = csrf_token(client.get(path).get_data(as_text=True))
        response = client.post(f"{path}/rekey", data={"csrf_token": token})
        assert response.status_code == 302, response.status_code

    rekey(1)
    reset_peak_rss()
    baseline = peak_rss_bytes()
    rekey(2)
    peak = peak_rss_bytes()

    # The new blob decrypts (streaming) with the newcomer's key to exactly what was uploaded.
    store = BlobStore(config.blob_dir)
    sink = HashingSink()
    with store.open(blob_name_of(sessions, 2)) as ciphertext:
        decrypt_stream_padded(ciphertext, sink, [newcomer.identity.secret])
    return {
        "baseline_rss": baseline,
        "peak_rss": peak,
        "intact": sink.digest.digest() == digest.digest(),
        "old_blob_gone": not store.path_of(old_blob).exists(),
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]))))
