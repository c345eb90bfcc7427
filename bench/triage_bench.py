"""Inbox triage and search with encrypted summaries, at 10,000 and 100,000 cases.

Every case gets a real summary and one real item, both age ciphertext to the
lawyer and the recovery key (one ciphertext of each, reused, so seeding does
not dominate the run). Measured in-process through the real app and a
logged-in lawyer. PostgreSQL runs when INTAKE_BENCH_POSTGRES_URL answers
(default: the `test` database, which it resets).

Run: `python -m bench.triage_bench [CASES ...]`.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import insert, text
from sqlalchemy.exc import OperationalError

from bench.measure import report
from intake import create_app, migrate
from intake.db import engine, session_factory
from intake.models import Case, CaseStatus, CaseSummary, Item, ItemKind, ItemRecipient, Source
from intake.services.items import ItemPayload, seal_item
from intake.services.keyring import submission_recipients
from intake.services.summaries import SummaryPayload, seal_summary
from tests.conftest import make_config, reset_postgres
from tests.factories import create_lawyer, set_recovery_key
from tests.lawyer.helpers import csrf_token, log_in, totp_code

SIZES = (10_000, 100_000)
QUICK_SIZES = (300,)
PAGE_REPEATS = 30
SEARCH_REPEATS = 3
POSTGRES_URL = os.environ.get(
    "INTAKE_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Most cases closed, as on an instance that has run for years.
STATUSES = [CaseStatus.CLOSED] * 8 + [CaseStatus.NEW, CaseStatus.IN_PROGRESS]
URGENCIES = ["danger_now", "days", "weeks"]
INSERT_BATCH = 5_000


def seed(app_database_url: str, work_dir: Path, cases: int) -> FlaskClient:
    app = create_app(make_config(work_dir, app_database_url))
    with session_factory(app)() as session:
        set_recovery_key(session)
        lawyer = create_lawyer(session)
        recipients = submission_recipients(session)
        assert recipients is not None
        lawyer_id = lawyer.user.id
    summaries = [
        seal_summary(SummaryPayload("desertion", urgency, "Грузия", "ru"), recipients.recipients)
        for urgency in URGENCIES
    ]
    item_ciphertext = seal_item(
        ItemPayload({"help_kind": "desertion"}, "Я покинул часть и нахожусь в Грузии. " * 20),
        recipients.recipients,
    )
    today = dt.date.today()
    with session_factory(app)() as session:
        for offset in range(0, cases, INSERT_BATCH):
            numbers = range(offset, min(cases, offset + INSERT_BATCH))
            source_ids = [uuid.uuid4() for _ in numbers]
            case_ids = [uuid.uuid4() for _ in numbers]
            item_ids = [uuid.uuid4() for _ in numbers]
            session.execute(
                insert(Source),
                [
                    {
                        "id": source_id,
                        "codename_lookup_id": uuid.uuid4().hex,
                        "reply_recipient": "age1x",
                        "created_day": today,
                    }
                    for source_id in source_ids
                ],
            )
            session.execute(
                insert(Case),
                [
                    {
                        "id": case_id,
                        "number": number + 1,
                        "source_id": source_id,
                        "status": STATUSES[number % len(STATUSES)],
                        "created_day": today,
                        "last_activity_day": today - dt.timedelta(days=number % 700),
                        "activity_seq": 1,
                        "item_count": 1,
                    }
                    for number, case_id, source_id in zip(numbers, case_ids, source_ids, strict=True)
                ],
            )
            session.execute(
                insert(CaseSummary),
                [
                    {"case_id": case_id, "ciphertext": summaries[number % len(summaries)]}
                    for number, case_id in zip(numbers, case_ids, strict=True)
                ],
            )
            session.execute(
                insert(Item),
                [
                    {
                        "id": item_id,
                        "case_id": case_id,
                        "seq": 1,
                        "kind": ItemKind.SUBMISSION,
                        "created_day": today,
                        "ciphertext": item_ciphertext,
                        "visible_to_source": False,
                    }
                    for item_id, case_id in zip(item_ids, case_ids, strict=True)
                ],
            )
            session.execute(
                insert(ItemRecipient), [{"item_id": item_id, "user_id": lawyer_id} for item_id in item_ids]
            )
            session.commit()
    if engine(app).dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load (as bench/inbox_bench.py).
        with engine(app).connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    log_in(client, lawyer.user.email, lawyer.passphrase, totp_code(lawyer.totp_secret, None))
    return client


def page_times(client: FlaskClient, path: str) -> dict[str, float]:
    samples = []
    for _ in range(PAGE_REPEATS):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    samples.sort()
    return {
        "p50_ms": statistics.median(samples),
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
    }


def search_rate(client: FlaskClient) -> float:
    """Cases scanned per second by a search that matches nothing (the worst case)."""
    rates = []
    for _ in range(SEARCH_REPEATS):
        token = csrf_token(client.get("/lawyer/search").get_data(as_text=True))
        started = time.perf_counter()
        page = client.post("/lawyer/search", data={"csrf_token": token, "query": "нет такого слова"})
        elapsed = time.perf_counter() - started
        scanned = re.search(r"stopped after (\d+) cases", page.get_data(as_text=True))
        rates.append((int(scanned.group(1)) if scanned else 0) / elapsed)
    return statistics.median(rates)


def measure(label: str, database_url: str, cases: int) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        client = seed(database_url, Path(scratch), cases)
        results: dict[str, float] = {}
        for name, path in (
            ("activity_first_page", "/lawyer/?order=activity"),
            ("urgent_first_page", "/lawyer/"),
        ):
            for key, value in page_times(client, path).items():
                results[f"{name}_{key}"] = value
        results["search_cases_per_s"] = search_rate(client)
        report(f"triage with {cases} cases, {label}", results)
        app = client.application
        engine(app).dispose()


def main(quick: bool = False, sizes: tuple[int, ...] = SIZES) -> None:
    for cases in QUICK_SIZES if quick else sizes:
        with tempfile.TemporaryDirectory() as scratch:
            url = f"sqlite:///{Path(scratch) / 'data' / 'intake.sqlite3'}"
            migrate.upgrade(url)
            measure("SQLite", url, cases)
        try:
            reset_postgres(POSTGRES_URL)
        except OperationalError:
            print("triage on PostgreSQL: skipped, PostgreSQL not answering")
            continue
        migrate.upgrade(POSTGRES_URL)
        measure("PostgreSQL", POSTGRES_URL, cases)
        reset_postgres(POSTGRES_URL)


if __name__ == "__main__":
    main(sizes=tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
