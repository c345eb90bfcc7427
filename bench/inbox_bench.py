"""The lawyer inbox with 10,000 cases: page render times, SQLite and PostgreSQL.

Run in-process through the real app and a logged-in lawyer; PostgreSQL is
measured when INTAKE_BENCH_POSTGRES_URL (default: the test database) answers.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.exc import OperationalError

from bench.measure import report
from intake import create_app, migrate
from intake.db import engine, session_factory
from intake.models import Case, CaseRead, CaseStatus, Source
from tests.conftest import make_config, reset_postgres
from tests.factories import create_lawyer, set_recovery_key
from tests.lawyer.helpers import log_in, totp_code

CASES = 10_000
REPEATS = 20
POSTGRES_URL = os.environ.get("INTAKE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STATUSES = list(CaseStatus)


def seed(database_url: str, work_dir: Path) -> dict[str, float]:
    app = create_app(make_config(work_dir, database_url))
    with session_factory(app)() as session:
        set_recovery_key(session)
        lawyer = create_lawyer(session)
        lawyer_id = lawyer.user.id
    today = dt.date.today()
    sources = [{"id": uuid.uuid4(), "codename_lookup_id": uuid.uuid4().hex, "reply_recipient": "age1x", "created_day": today} for _ in range(CASES)]
    cases = [
        {
            "id": uuid.uuid4(),
            "number": number + 1,
            "source_id": source["id"],
            "status": STATUSES[number % len(STATUSES)],
            "assignee_id": lawyer_id if number % 3 == 0 else None,
            "created_day": today - dt.timedelta(days=number // 20),
            "last_activity_day": today,
            "activity_seq": 2,
            "item_count": 2,
        }
        for number, source in enumerate(sources)
    ]
    reads = [{"case_id": case["id"], "user_id": lawyer_id, "seen_seq": 2} for case in cases[::2]]
    with session_factory(app)() as session:
        session.execute(insert(Source), sources)
        session.execute(insert(Case), cases)
        session.execute(insert(CaseRead), reads)
        session.commit()

    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    timings = {}
    for name, path in (
        ("first_page_ms", "/lawyer/"),
        ("page_100_ms", "/lawyer/?page=100"),
        ("status_filter_ms", "/lawyer/?status=closed"),
        ("assignee_filter_page_20_ms", f"/lawyer/?assignee={lawyer_id}&page=20"),
    ):
        samples = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            response = client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
        timings[name] = statistics.median(samples)
    engine(app).dispose()
    return timings


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'data' / 'intake.sqlite3'}"
        migrate.upgrade(url)
        report(f"inbox with {CASES} cases, SQLite (median of {REPEATS})", seed(url, Path(scratch)))
    try:
        reset_postgres(POSTGRES_URL)
    except OperationalError:
        print("inbox on PostgreSQL: skipped, PostgreSQL not answering")
        return
    migrate.upgrade(POSTGRES_URL)
    with tempfile.TemporaryDirectory() as scratch:
        report(f"inbox with {CASES} cases, PostgreSQL (median of {REPEATS})", seed(POSTGRES_URL, Path(scratch)))
    reset_postgres(POSTGRES_URL)


if __name__ == "__main__":
    main()
