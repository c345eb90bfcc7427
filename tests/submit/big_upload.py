"""Stream gigabytes through the real app in this process and report its memory.

Run as `python -m tests.submit.big_upload WORK_DIR FILE_SIZE [FILE_SIZE ...]`;
prints one JSON line. A separate process so that the peak RSS it reports
belongs to this upload alone (see test_streaming_memory.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from crypto import decrypt_stream_padded
from intake import create_app, migrate
from intake.db import session_factory
from intake.models import Case
from tests.conftest import make_config
from tests.submit.helpers import create_readers
from tests.submit.multipart import (
    Upload,
    codename_on,
    help_request_parts,
    post_parts,
    request_tokens,
)

BLOCK = os.urandom(1024 * 1024)


def peak_rss_bytes() -> int:
    # Linux reports KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def generated(size: int, digest: hashlib._Hash) -> Iterator[bytes]:
    remaining = size
    while remaining:
        chunk = BLOCK[: min(remaining, len(BLOCK))]
        digest.update(chunk)
        remaining -= len(chunk)
        yield chunk


class HashingSink:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return len(data)


def main(work_dir: Path, sizes: list[int]) -> dict[str, object]:
    database_url = f"sqlite:///{work_dir / 'data' / 'intake.sqlite3'}"
    (work_dir / "data").mkdir(parents=True)
    migrate.upgrade(database_url)
    app = create_app(make_config(work_dir, database_url))
    with session_factory(app)() as session:
        readers = create_readers(session)
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"

    # Warm up every code path on a small upload, so the baseline includes them.
    warm_up = help_request_parts(request_tokens(client, "/request"), files=[Upload("warm-up.bin", BLOCK)])
    assert post_parts(client, "/request", warm_up).status_code == 200
    baseline = peak_rss_bytes()

    digests = [hashlib.sha256() for _ in sizes]
    uploads = [
        Upload(f"большой-{index}.bin", generated(size, digest), size=size)
        for index, (size, digest) in enumerate(zip(sizes, digests, strict=True))
    ]
    started = time.monotonic()
    response = post_parts(
        client, "/request", help_request_parts(request_tokens(client, "/request"), files=uploads)
    )
    seconds = time.monotonic() - started
    assert response.status_code == 200, response.status_code
    codename_on(response.get_data(as_text=True))
    peak = peak_rss_bytes()

    # The ciphertext decrypts (streaming, so this too stays flat) to exactly what was sent.
    intact = []
    with session_factory(app)() as session:
        case = session.scalars(select(Case).order_by(Case.number.desc())).first()
        assert case is not None
        for attachment, digest in zip(case.items[0].attachments, digests, strict=True):
            sink = HashingSink()
            path = work_dir / "blobs" / attachment.blob_name[:2] / f"{attachment.blob_name}.age"
            with path.open("rb") as ciphertext:
                decrypt_stream_padded(ciphertext, sink, [readers.lawyer.identity.secret])
            intact.append(sink.digest.digest() == digest.digest())
    return {
        "uploaded_bytes": sum(sizes),
        "seconds": round(seconds, 1),
        "baseline_rss": baseline,
        "peak_rss": peak,
        "intact": intact,
    }


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), [int(size) for size in sys.argv[2:]])))
