"""Export a case with one huge attachment through the real app, and report the memory it took.

Run as `python -m tests.lawyer.big_export WORK_DIR FILE_SIZE`; prints one JSON
line. A separate process so that the peak it reports belongs to this export
alone (see test_export.py). The case arrives through the real upload path
first; the peak is reset after that (Linux `clear_refs`), so the upload's own
buffers do not hide the export's.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import zipfile
from pathlib import Path

from flask.testing import FlaskClient

from crypto import decrypt_stream, generate_identity
from intake import create_app, migrate
from intake.db import session_factory
from tests.conftest import make_config
from tests.lawyer.helpers import csrf_token as page_csrf_token
from tests.lawyer.helpers import log_in, totp_code
from tests.submit.big_upload import BLOCK, HashingSink, generated
from tests.submit.helpers import create_readers
from tests.submit.multipart import (
    Upload,
    codename_on,
    help_request_parts,
    post_parts,
    request_tokens,
)

PROC_STATUS = Path("/proc/self/status")


def peak_rss_bytes() -> int:
    match = re.search(r"^VmHWM:\s+(\d+) kB$", PROC_STATUS.read_text(), re.MULTILINE)
    assert match, "no VmHWM in /proc/self/status"
    return int(match.group(1)) * 1024


def reset_peak_rss() -> None:
    # "5" resets the peak resident set size to the current one (Linux >= 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def submit(client: FlaskClient, files: list[Upload]) -> None:
    response = post_parts(client, "/request", help_request_parts(request_tokens(client, "/request"), files=files))
    assert response.status_code == 200, response.status_code
    codename_on(response.get_data(as_text=True))


def main(work_dir: Path, size: int) -> dict[str, object]:
    database_url = f"sqlite:///{work_dir / 'data' / 'intake.sqlite3'}"
    (work_dir / "data").mkdir(parents=True)
    migrate.upgrade(database_url)
    app = create_app(make_config(work_dir, database_url))
    with session_factory(app)() as session:
        lawyer = create_readers(session).lawyer
    submitter = app.test_client()
    submitter.environ_base["wsgi.url_scheme"] = "https"

    # Case 1 warms up every export code path; case 2 holds the huge file.
    digest = hashlib.sha256()
    submit(submitter, [Upload("warm-up.bin", BLOCK)])
    submit(submitter, [Upload("huge.bin", generated(size, digest), size=size)])

    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    offline = generate_identity()
    archive_path = work_dir / "export.zip"

    def export(case_number: int) -> None:
        token = page_csrf_token(client.get(f"/lawyer/cases/{case_number}").get_data(as_text=True))
        response = client.post(
            f"/lawyer/cases/{case_number}/export",
            data={"csrf_token": token, "recipient": offline.recipient},
            buffered=False,
        )
        assert response.status_code == 200, response.status_code
        # Only ciphertext reaches this file: the ZIP of age files, as a browser would save it.
        with archive_path.open("wb") as archive:
            for chunk in response.response:
                archive.write(chunk)
        response.close()

    export(1)
    reset_peak_rss()
    baseline = peak_rss_bytes()
    export(2)
    peak = peak_rss_bytes()

    # The exported file decrypts (streaming) with the offline key to exactly what was uploaded.
    sink = HashingSink()
    with zipfile.ZipFile(archive_path) as archive, archive.open("case-2/files/001-1.age") as member:
        decrypt_stream(member, sink, [offline.secret])
    return {
        "exported_bytes": archive_path.stat().st_size,
        "baseline_rss": baseline,
        "peak_rss": peak,
        "intact": sink.digest.digest() == digest.digest(),
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), int(sys.argv[2]))))
