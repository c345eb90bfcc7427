"""Several workers share rate limits through Redis, as gunicorn's workers must."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from intake import create_app
from tests.conftest import make_config

# Flushed by these tests: a run beside another (a second checkout, a benchmark)
# gives each its own database number.
REDIS_URL = os.environ.get("INTAKE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_answers() -> bool:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.ConnectionError:
        return False
    return True


@pytest.fixture
def empty_redis() -> str:
    if not _redis_answers():
        pytest.skip(f"Redis is not answering at {REDIS_URL} (CI machines start it)")
    redis.Redis.from_url(REDIS_URL).flushdb()
    return REDIS_URL


def _try_codename(client: FlaskClient) -> int:
    page = client.get("/codename").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the codename form carries a CSRF token"
    words = " ".join(["abacus"] * 7)
    return client.post("/codename", data={"csrf_token": match.group(1), "codename": words}).status_code


def test_two_workers_count_against_one_global_limit(tmp_path: Path, database_url: str, empty_redis: str) -> None:
    # Given two app instances (two workers) sharing one Redis, and a global
    # limit of two codename attempts per hour
    config = make_config(
        tmp_path,
        database_url,
        RATELIMIT_STORAGE_URI=empty_redis,
        INTAKE_GLOBAL_CODENAME_RATE_LIMIT="2 per hour",
    )
    workers = [create_app(config), create_app(config)]
    clients = [worker.test_client() for worker in workers]
    for client in clients:
        client.environ_base["wsgi.url_scheme"] = "https"

    # When three attempts come in, alternating between the workers
    statuses = [_try_codename(clients[attempt % 2]) for attempt in range(3)]

    # Then the first two are answered (an unknown codename) and the third is
    # refused, although each worker saw at most two requests
    assert statuses == [400, 400, 429]
    assert redis.Redis.from_url(empty_redis).dbsize() > 0


def test_codename_guessing_has_its_own_global_limit(tmp_path: Path, database_url: str, empty_redis: str) -> None:
    # Given a tight global limit on submissions and a generous one on codename attempts
    config = make_config(
        tmp_path,
        database_url,
        RATELIMIT_STORAGE_URI=empty_redis,
        INTAKE_GLOBAL_SUBMIT_RATE_LIMIT="1 per hour",
        INTAKE_GLOBAL_CODENAME_RATE_LIMIT="100 per hour",
    )
    client = create_app(config).test_client()
    client.environ_base["wsgi.url_scheme"] = "https"

    # When three codename attempts come in, then none is throttled by the submission limit
    assert [_try_codename(client) for _ in range(3)] == [400, 400, 400]
