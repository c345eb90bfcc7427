"""Fixtures: the app is built through the real factory and real databases.

SQLite by default; set INTAKE_TEST_DATABASE_URL (as `make test-postgres`
does) to run the same suite against PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from config import Config
from intake import create_app, migrate
from intake.db import engine, session_factory
from intake.models import Base

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE_DIRECTORIES = (ROOT / "intake" / "translations", ROOT / "intake" / "staff_translations")
POSTGRES_URL = os.environ.get("INTAKE_TEST_DATABASE_URL")
TEST_SECRET = "test-secret-key-that-is-long-enough-0123456789"


def reset_postgres(database_url: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues() -> None:
    """.mo files are build output (gitignored, `make translations`): compile missing or stale ones."""
    for directory in CATALOGUE_DIRECTORIES:
        for po_path in directory.glob("*/LC_MESSAGES/*.po"):
            mo_path = po_path.with_suffix(".mo")
            if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
                continue
            with po_path.open("rb") as po_file:
                catalogue = read_po(po_file)
            with mo_path.open("wb") as mo_file:
                write_mo(mo_file, catalogue, use_fuzzy=False)


@pytest.fixture(scope="session")
def migrated_postgres() -> str | None:
    if POSTGRES_URL is None:
        return None
    reset_postgres(POSTGRES_URL)
    migrate.upgrade(POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def database_url(tmp_path: Path, migrated_postgres: str | None) -> Iterator[str]:
    if migrated_postgres is None:
        url = f"sqlite:///{tmp_path / 'data' / 'intake.sqlite3'}"
        migrate.upgrade(url)
        yield url
        return
    yield migrated_postgres
    engine = create_engine(migrated_postgres)
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


def make_config(tmp_path: Path, database_url: str, **environ: str) -> Config:
    return Config.from_env(
        {
            "INTAKE_ENV": "test",
            "SECRET_KEY": TEST_SECRET,
            "INTAKE_DATA_DIR": str(tmp_path / "data"),
            "INTAKE_BLOB_DIR": str(tmp_path / "blobs"),
            "DATABASE_URL": database_url,
            "INTAKE_KDF_PROFILE": "fast",
            **environ,
        }
    )


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Config:
    return make_config(tmp_path, database_url)


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    app = create_app(config)
    yield app
    engine(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    client = app.test_client()
    # The session cookie is Secure (__Host-), so the client must speak HTTPS.
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    with session_factory(app)() as session:
        yield session
