"""The lawyer inbox from 1,000 to 100,000 cases: p50/p99 per page, SQLite and PostgreSQL.

Measured from outside, through real gunicorn with config/gunicorn.py in
production mode (bench.server), as a logged-in lawyer's browser asks: each
request on a new connection, so the workers take turns as behind the front.
One database grows step by step while the server runs, so each size costs
only its new rows. Every case has its own summary sealed to the lawyer and
the recovery key, so each page decrypts what a real one would. Each page's
first view after the database grew is reported on its own ("first": some
workers have not opened those summaries yet); then WARM_UPS requests let
every worker open them, and REPEATS (more at the largest size, so that p99
is not simply the slowest) are measured, with the workers' CPU time per
request beside the wall clock. A deep page is measured as a lawyer reaches
it: by the Next link of the page before it, which carries that page's last
row as a cursor; one, labelled "typed", by its page number alone.
PostgreSQL is measured when
INTAKE_BENCH_POSTGRES_URL (default: the test database) answers; that
database is reset.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from flask import Flask
from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError

from bench.measure import report
from bench.server import Client, Server, gunicorn
from intake import create_app, migrate
from intake.db import engine, session_factory
from intake.models import Case, CaseStatus, CaseSummary, SeenCase, Source
from intake.services.keyring import submission_recipients
from intake.services.summaries import SummaryPayload, seal_summary
from tests.conftest import TEST_SECRET, make_config, reset_postgres
from tests.factories import LawyerFixture, create_lawyer, set_recovery_key, source_rows
from tests.lawyer.helpers import totp_code

SIZES = (1_000, 10_000, 30_000, 100_000)
QUICK_SIZES = (300,)
REPEATS = 30
# At the largest size: p99 of 100 is the second-slowest, not the slowest.
LARGEST_REPEATS = 100
QUICK_REPEATS = 3
# Each worker keeps its own opened summaries; with the workers taking turns at
# random, 10 warm-ups left one cold about one page in ten and its first view
# (300-400 ms) became that page's p99. After 30, about one in a thousand.
WARM_UPS = 30
POSTGRES_URL = os.environ.get(
    "INTAKE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Most cases closed, as on an instance that has run for years.
STATUSES = [CaseStatus.CLOSED] * 8 + [CaseStatus.NEW, CaseStatus.IN_PROGRESS]
HELP_KINDS = ["desertion", "mobilisation", "relative_left_unit", "detained_relative", "other"]
URGENCIES = ["danger_now", "days", "weeks"]
PAGE_SIZE = 50


def _add_cases(app: Flask, lawyer_id: uuid.UUID, start: int, stop: int) -> None:
    today = dt.date.today()
    sources = source_rows(stop - start, today)
    cases = [
        {
            "id": uuid.uuid4(),
            "number": number + 1,
            "source_id": source["id"],
            "status": STATUSES[number % len(STATUSES)],
            "assignee_id": lawyer_id if number % 3 == 0 else None,
            "created_day": today - dt.timedelta(days=number // 20),
            "last_activity_day": today - dt.timedelta(days=number % 700),
            "activity_seq": 2,
            "item_count": 2,
        }
        for number, source in zip(range(start, stop), sources, strict=True)
    ]
    seen = [
        {
            "user_id": lawyer_id,
            "case_number": case["number"],
            "case_status": case["status"],
            "case_assignee_id": case["assignee_id"],
        }
        for case in cases[::2]
    ]
    with session_factory(app)() as session:
        recipients = submission_recipients(session)
        assert recipients is not None
    summaries = [
        {
            "case_id": case["id"],
            "ciphertext": seal_summary(
                # Help types by tens, so every status has each (by number % 5, no open case had
                # "desertion" and the help-type page was measured empty).
                SummaryPayload(HELP_KINDS[number // 10 % 5], URGENCIES[number % 3], "Грузия", "ru"),
                recipients.recipients,
            ),
        }
        for number, case in zip(range(start, stop), cases, strict=True)
    ]
    with session_factory(app)() as session:
        for batch in range(0, len(cases), 10_000):
            session.execute(insert(Source), sources[batch : batch + 10_000])
            session.execute(insert(Case), cases[batch : batch + 10_000])
            session.execute(insert(CaseSummary), summaries[batch : batch + 10_000])
        session.execute(insert(SeenCase), seen)
        session.commit()
    if engine(app).dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: planner statistics and
        # the visibility map that lets the page query scan the index alone.
        with engine(app).connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def _pages(size: int, lawyer_id: uuid.UUID) -> dict[str, str]:
    last = -(-size // PAGE_SIZE)
    # Each filter matches about a third or a quarter of the cases; its last page is its deepest.
    return {
        "first": "/lawyer/",
        "middle": f"/lawyer/?page={last // 2}",
        "last": f"/lawyer/?page={last}",
        "activity_first": "/lawyer/?order=activity",
        "activity_last": f"/lawyer/?order=activity&page={last}",
        "status_first": "/lawyer/?status=closed",
        "status_last": f"/lawyer/?status=closed&page={last}",
        "assignee_first": f"/lawyer/?assignee={lawyer_id}",
        "assignee_last": f"/lawyer/?assignee={lawyer_id}&page={last}",
        "unassigned_first": "/lawyer/?assignee=nobody",
        "unassigned_last": f"/lawyer/?assignee=nobody&page={last}",
        "help_kind_first": "/lawyer/?help_kind=desertion",
        "new_first": "/lawyer/?new=y",
        "new_middle": f"/lawyer/?new=y&page={last // 4}",
        "new_middle_typed": f"/lawyer/?new=y&page={last // 4}",
        "new_last": f"/lawyer/?new=y&page={last}",
        "new_activity_last": f"/lawyer/?new=y&order=activity&page={last}",
        "new_assignee_last": f"/lawyer/?new=y&assignee={lawyer_id}&page={last}",
    }


def _get(client: Client, path: str) -> float:
    """One page on a new connection; wall-clock milliseconds until its last byte."""
    started = time.perf_counter()
    reply = client.request("GET", path, headers={"Connection": "close"})
    elapsed = (time.perf_counter() - started) * 1000
    assert reply.status == 200, (path, reply.status)
    return elapsed


def _link(client: Client, path: str, rel: str) -> str | None:
    reply = client.get(path)
    assert reply.status == 200, (path, reply.status)
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', reply.text)
    return None if found is None else html.unescape(found[1])


def _followed(client: Client, path: str) -> str:
    """The link a lawyer follows to the page `path` names: the Next link of the page before it.

    The page number goes through its own page first, which clamps it to the filter's last page.
    """
    before = _link(client, path, "prev")
    if before is None:
        return path
    followed = _link(client, before, "next")
    assert followed is not None, before
    return followed


def _measure(server: Server, client: Client, path: str, repeats: int) -> tuple[float, list[float], float]:
    """The first view, wall-clock milliseconds of `repeats` warm views, and the workers' CPU milliseconds per view."""
    first = _get(client, path)
    for _ in range(WARM_UPS):
        _get(client, path)
    cpu_before = server.workers_cpu_seconds()
    wall = [_get(client, path) for _ in range(repeats)]
    cpu_per_view = (server.workers_cpu_seconds() - cpu_before) * 1000 / repeats
    return first, wall, cpu_per_view


def _log_in(client: Client, lawyer: LawyerFixture, email: str) -> None:
    form = client.get("/lawyer/login")
    reply = client.post_form(
        "/lawyer/login",
        {
            "csrf_token": form.csrf_token(),
            "email": email,
            "passphrase": lawyer.passphrase,
            "totp_code": totp_code(lawyer.totp_secret, None),
        },
    )
    assert reply.status == 302, reply.status


def _p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def growth_curve(
    database: str, database_url: str, work_dir: Path, sizes: tuple[int, ...], repeats: int
) -> None:
    app = create_app(make_config(work_dir, database_url))
    with session_factory(app)() as session:
        set_recovery_key(session)
        lawyer = create_lawyer(session)
        lawyer_id, email = lawyer.user.id, lawyer.user.email
    environ = {
        "SECRET_KEY": TEST_SECRET,
        "DATABASE_URL": database_url,
        "INTAKE_DATA_DIR": str(work_dir / "data"),
        "INTAKE_BLOB_DIR": str(work_dir / "blobs"),
    }
    # The settings file's own number of workers, as deployed.
    with gunicorn(environ, workers=None) as server:
        client = Client(server.port)
        _log_in(client, lawyer, email)
        seeded = 0
        for size in sizes:
            _add_cases(app, lawyer_id, seeded, size)
            seeded = size
            views = LARGEST_REPEATS if size == sizes[-1] and repeats == REPEATS else repeats
            print(
                f"inbox {database}, {size} cases, through gunicorn ({len(server.worker_pids())} workers, "
                f"{views} views per page, load average {os.getloadavg()[0]:.1f}):"
            )
            for name, path in _pages(size, lawyer_id).items():
                if "page=" in path and not name.endswith("_typed"):
                    path = _followed(client, path)
                first, wall, cpu_per_view = _measure(server, client, path, views)
                report(
                    f"  {name}",
                    {
                        "first_ms": first,
                        "p50_ms": statistics.median(wall),
                        "p99_ms": _p99(wall),
                        "workers_cpu_ms": cpu_per_view,
                    },
                )
    engine(app).dispose()


def main(quick: bool = False) -> None:
    sizes, repeats = (QUICK_SIZES, QUICK_REPEATS) if quick else (SIZES, REPEATS)
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'data' / 'intake.sqlite3'}"
        migrate.upgrade(url)
        growth_curve("SQLite", url, Path(scratch), sizes, repeats)
    try:
        reset_postgres(POSTGRES_URL)
    except OperationalError:
        print("inbox on PostgreSQL: skipped, PostgreSQL not answering")
        return
    migrate.upgrade(POSTGRES_URL)
    with tempfile.TemporaryDirectory() as scratch:
        growth_curve("PostgreSQL", POSTGRES_URL, Path(scratch), sizes, repeats)
    reset_postgres(POSTGRES_URL)


if __name__ == "__main__":
    logging.disable(logging.INFO)
    main(quick="--quick" in sys.argv[1:])
