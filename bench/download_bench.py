"""A lawyer's download through real gunicorn (read by curl), beside `age -d` on the same blob in the same run.

The app decrypts the padded age blob and streams the plaintext over HTTP;
`age -d` decrypts the same file to /dev/null. Median of three each.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.measure import report
from bench.server import Client, gunicorn
from intake import create_app, migrate
from intake.db import engine, session_factory
from intake.models import Attachment
from intake.services.blobstore import BlobStore
from tests.conftest import TEST_SECRET, make_config
from tests.factories import LawyerFixture, create_lawyer, set_recovery_key
from tests.lawyer.helpers import submit_directly, totp_code

MIB = 1024 * 1024
SIZE_MIB = 256
QUICK_SIZE_MIB = 4
RUNS = 3


def _seed(work_dir: Path, database_url: str, size: int) -> tuple[LawyerFixture, int, str, str]:
    config = make_config(work_dir, database_url)
    app = create_app(config)
    block = os.urandom(MIB)
    with session_factory(app)() as session:
        set_recovery_key(session)
        lawyer = create_lawyer(session)
        content = block * (size // MIB) + block[: size % MIB]
        submitted = submit_directly(session, config, "bench", files=[("big.bin", "x/y", content)])
        blob_name = session.scalar(select(Attachment.blob_name))
        # The login below reads the lawyer's email after this session has closed.
        session.refresh(lawyer.user)
        session.expunge(lawyer.user)
    engine(app).dispose()
    assert blob_name is not None
    return lawyer, submitted.number, str(submitted.attachment_ids[0]), blob_name


def _log_in(client: Client, lawyer: LawyerFixture) -> None:
    form = client.get("/lawyer/login")
    reply = client.post_form(
        "/lawyer/login",
        {
            "csrf_token": form.csrf_token(),
            "email": lawyer.user.email,
            "passphrase": lawyer.passphrase,
            "totp_code": totp_code(lawyer.totp_secret, None),
        },
    )
    assert reply.status == 302, reply.status


def _download_seconds(client: Client, path: str, size: int) -> float:
    # curl, not Python, reads the response: the client's own CPU would
    # otherwise compete with the server's on this small machine.
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    started = time.perf_counter()
    completed = subprocess.run(
        ["curl", "-sS", "-f", "-o", os.devnull, "-w", "%{size_download}", "-H", f"Cookie: {cookie}",
         f"http://127.0.0.1:{client.port}{path}"],
        check=True, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - started
    assert int(completed.stdout) == size, (completed.stdout, size)
    return elapsed


def _age_seconds(identity_file: Path, blob: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["age", "-d", "-i", str(identity_file), "-o", os.devnull, str(blob)], check=True)
    return time.perf_counter() - started


def main(quick: bool = False) -> None:
    size = (QUICK_SIZE_MIB if quick else SIZE_MIB) * MIB
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        database_url = f"sqlite:///{work / 'data' / 'intake.sqlite3'}"
        migrate.upgrade(database_url)
        lawyer, number, attachment_id, blob_name = _seed(work, database_url, size)
        identity_file = work / "lawyer.key"
        identity_file.write_text(lawyer.identity.secret + "\n")
        blob = BlobStore(work / "blobs").path_of(blob_name)
        environ = {
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "INTAKE_DATA_DIR": str(work / "data"),
            "INTAKE_BLOB_DIR": str(work / "blobs"),
        }
        with gunicorn(environ) as server:
            client = Client(server.port)
            _log_in(client, lawyer)
            path = f"/lawyer/cases/{number}/attachments/{attachment_id}"
            app_runs, age_runs = [], []
            for _ in range(RUNS):
                app_runs.append(_download_seconds(client, path, size))
                age_runs.append(_age_seconds(identity_file, blob))
        app_s, age_s = statistics.median(app_runs), statistics.median(age_runs)
        mib = size / MIB
        report(
            f"lawyer download {mib:.0f} MiB through gunicorn vs age -d, same blob (median of {RUNS})",
            {
                "app_mib_s": mib / app_s,
                "age_d_mib_s": mib / age_s,
                "ratio": age_s / app_s,
                "load_average": os.getloadavg()[0],
            },
        )


if __name__ == "__main__":
    logging.disable(logging.INFO)
    main(quick="--quick" in sys.argv[1:])
