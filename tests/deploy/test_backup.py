"""deploy/backup makes a restorable pair of dump and blob copy, whatever the sweeper does meanwhile.

Docker cannot run in the test suite, so `docker` is tests/deploy/docker-standin;
behind it run the real pg_dump and pg_restore (PostgreSQL only), tar, age and
the real `intake sweep` as the sweeper service.
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from intake import create_app
from intake.db import engine, session_factory
from intake.models import Attachment, Case, CaseStatus
from intake.services.blobstore import BlobStore
from tests.conftest import ROOT, make_config
from tests.factories import create_lawyer, set_recovery_key
from tests.lawyer.helpers import submit_directly

STANDIN = Path(__file__).with_name("docker-standin")
RETENTION_DAYS = 30


@dataclass(frozen=True)
class Server:
    """A copy of deploy/ with its secrets, the volumes as directories, the stand-in's state."""

    repo: Path
    volumes: Path
    state: Path
    backups: Path
    identity: Path
    env: dict[str, str]

    def backup(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.repo / "deploy" / "backup"), str(self.backups)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def sweeper_stopped(self) -> bool:
        return (self.state / "sweeper-stopped").exists()

    def sweeps(self) -> int:
        sweeps = self.state / "sweeps"
        return sweeps.read_text().count("orphaned blob file(s)") if sweeps.exists() else 0


@pytest.fixture
def pg_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("deploy/backup runs pg_dump: PostgreSQL only (make test-postgres)")
    return database_url


@pytest.fixture
def config(tmp_path: Path, pg_url: str) -> Config:
    return make_config(
        tmp_path,
        pg_url,
        INTAKE_BLOB_DIR=str(tmp_path / "volumes" / "data" / "blobs"),
        INTAKE_RETENTION_DAYS=str(RETENTION_DAYS),
    )


@pytest.fixture
def server(tmp_path: Path, config: Config, pg_url: str) -> Server:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "deploy", repo / "deploy")
    shutil.copy(ROOT / "docker-compose.yml", repo)
    (repo / "secrets").mkdir()
    (repo / "secrets" / "secret_key").write_text("not a real secret\n")
    volumes = tmp_path / "volumes"
    (volumes / "tor-keys").mkdir(parents=True)
    (volumes / "tor-keys" / "hostname").write_text("example.onion\n")
    BlobStore(config.blob_dir).ensure()
    state = tmp_path / "standin"
    (state / "bin").mkdir(parents=True)
    (state / "bin" / "docker").symlink_to(STANDIN)
    identity = tmp_path / "backup-key.txt"
    subprocess.run(["age-keygen", "-o", str(identity)], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", str(identity)], check=True, capture_output=True, text=True)
    sweep_environment = {
        "INTAKE_ENV": "test",
        "SECRET_KEY": config.secret_key,
        "DATABASE_URL": pg_url,
        "INTAKE_DATA_DIR": str(config.data_dir),
        "INTAKE_BLOB_DIR": str(config.blob_dir),
        "INTAKE_RETENTION_DAYS": str(RETENTION_DAYS),
        "INTAKE_KDF_PROFILE": "fast",
    }
    sweep = " ".join(
        [f"cd {shlex.quote(str(ROOT))} &&", "env"]
        + [shlex.quote(f"{name}={value}") for name, value in sweep_environment.items()]
        + [shlex.quote(sys.executable), "-m", "flask", "--app", "wsgi", "intake", "sweep"]
    )
    env = {
        "PATH": f"{state / 'bin'}:{os.environ['PATH']}",
        "LANG": "C.UTF-8",
        "BACKUP_RECIPIENT": recipient.stdout.strip(),
        "STANDIN_STATE": str(state),
        "STANDIN_VOLUMES": str(volumes),
        "STANDIN_PG_URL": pg_url.replace("postgresql+psycopg://", "postgresql://"),
        "STANDIN_SWEEP": sweep,
    }
    return Server(repo, volumes, state, tmp_path / "backups", identity, env)


@pytest.fixture
def db_session(config: Config) -> Iterator[Session]:
    app = create_app(config)
    with session_factory(app)() as session:
        yield session
    engine(app).dispose()


def expired_case_with_files(session: Session, config: Config) -> list[str]:
    """A closed case the next sweep deletes, with its attachment files on the volume; their names."""
    set_recovery_key(session)
    create_lawyer(session)
    submitted = submit_directly(
        session, config, "please help", files=[("a.pdf", "application/pdf", b"%PDF"), ("b.txt", "text/plain", b"b")]
    )
    case = session.scalars(select(Case).where(Case.number == submitted.number)).one()
    case.status = CaseStatus.CLOSED
    case.last_activity_day = dt.date.today() - dt.timedelta(days=RETENTION_DAYS + 1)
    session.commit()
    names = list(session.scalars(select(Attachment.blob_name)))
    assert len(names) == 2 and all(BlobStore(config.blob_dir).path_of(name).exists() for name in names)
    return names


def unpacked(server: Server, tmp_path: Path) -> Path:
    (archive,) = server.backups.glob("intake-*.tar.age")
    into = tmp_path / "unpacked"
    into.mkdir()
    decrypted = subprocess.run(["age", "-d", "-i", str(server.identity), str(archive)], check=True, capture_output=True)
    subprocess.run(["tar", "-C", str(into), "-xf", "-"], input=decrypted.stdout, check=True)
    return into


def names_in_dump(dump: Path) -> set[str]:
    """blob_name of every attachment row in the dump, read back by pg_restore."""
    script = subprocess.run(
        ["pg_restore", "--data-only", "--table=attachments", "--file=-", str(dump)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = script.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("COPY public.attachments ("))
    columns = lines[start].split("(", 1)[1].split(")", 1)[0].split(", ")
    rows = lines[start + 1 : lines.index("\\.", start)]
    return {row.split("\t")[columns.index("blob_name")] for row in rows}


def names_in_copy(data_tar: Path) -> set[str]:
    listing = subprocess.run(["tar", "-tf", str(data_tar)], check=True, capture_output=True, text=True).stdout
    return {Path(member).stem for member in listing.split() if member.endswith(".age")}


def test_the_dump_and_the_blob_copy_make_a_restorable_pair(
    server: Server, db_session: Session, config: Config, tmp_path: Path
) -> None:
    # Given a case that the sweeper deletes, files and all, whenever it next runs
    names = expired_case_with_files(db_session, config)

    # When a backup is taken
    result = server.backup()

    # Then it held the sweeper off: every file its dump names is in its copy
    assert result.returncode == 0, result.stderr
    backup = unpacked(server, tmp_path)
    assert names_in_dump(backup / "db.dump") == set(names)
    assert names_in_copy(backup / "data.tar") >= set(names)
    assert server.sweeps() == 0
    # And the sweeper runs again afterwards
    assert not server.sweeper_stopped()
    assert "stop sweeper" in (server.state / "calls").read_text()


def test_the_sweeper_is_started_again_when_the_backup_fails(server: Server, db_session: Session, config: Config) -> None:
    expired_case_with_files(db_session, config)
    (server.state / "fail-pg_dump").touch()

    result = server.backup()

    assert result.returncode != 0
    assert not server.sweeper_stopped()
    assert "start sweeper" in (server.state / "calls").read_text()
    assert list(server.backups.iterdir()) == [], "nothing left behind"


def test_a_sweeper_stopped_by_the_operator_stays_stopped(server: Server, db_session: Session, config: Config) -> None:
    expired_case_with_files(db_session, config)
    (server.state / "sweeper-stopped").touch()

    assert server.backup().returncode == 0
    assert server.sweeper_stopped()
    assert "start sweeper" not in (server.state / "calls").read_text()


def test_files_missing_from_the_live_volume_are_reported(
    server: Server, db_session: Session, config: Config, tmp_path: Path
) -> None:
    # Given a file the database names but that is gone from the volume
    names = expired_case_with_files(db_session, config)
    BlobStore(config.blob_dir).delete(names[0])

    # When a backup is taken
    result = server.backup()

    # Then the backup says so after trying three times, and still holds what there is
    assert result.returncode == 1
    assert "1 attachment file(s) the database names are missing from the data volume" in result.stderr
    assert result.stderr.count("(attempt ") == 3
    backup = unpacked(server, tmp_path)
    assert names_in_copy(backup / "data.tar") == {names[1]}
    assert not server.sweeper_stopped()
