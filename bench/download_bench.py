"""A lawyer's download through real gunicorn (read by curl), beside `age -d` on the same blob in the same run.

The app decrypts the padded age blob and streams the plaintext over HTTP,
straight from gunicorn and through the shipped nginx front
(deploy/front/nginx.conf, as tests/servers.py runs it); `age -d` decrypts
the same file to /dev/null. Median of three each. Besides wall-clock rates
(which on a loaded machine mostly measure the wait for a core) it reports
CPU seconds per GiB: the gunicorn workers' own, curl's (the client), and
age's, so the server's work can be set beside age's whatever the load.
"""

from __future__ import annotations

import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench.measure import report
from bench.server import Client, Server, gunicorn
from intake import create_app, migrate
from intake.db import engine, session_factory
from intake.models import Attachment
from intake.services.blobstore import BlobStore
from tests.conftest import TEST_SECRET, make_config
from tests.factories import LawyerFixture, create_lawyer, set_recovery_key
from tests.lawyer.helpers import submit_directly, totp_code
from tests.servers import Gunicorn, front

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


@dataclass
class Run:
    wall_s: float
    cpu_s: float  # the process measured: gunicorn workers, or age
    client_cpu_s: float = 0.0


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _workers_cpu_s(server: Server) -> float:
    ticks = 0
    for pid in server.worker_pids():
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _download(client: Client, server: Server, port: int, path: str, size: int) -> Run:
    # curl, not Python, reads the response: the client's own CPU would
    # otherwise compete with the server's on this small machine.
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    workers_before, curl_before = _workers_cpu_s(server), _children_cpu_s()
    started = time.perf_counter()
    completed = subprocess.run(
        ["curl", "-sS", "-f", "-o", os.devnull, "-w", "%{size_download}", "-H", f"Cookie: {cookie}",
         f"http://127.0.0.1:{port}{path}"],
        check=True, capture_output=True, text=True,
    )
    elapsed = time.perf_counter() - started
    assert int(completed.stdout) == size, (completed.stdout, size)
    return Run(elapsed, _workers_cpu_s(server) - workers_before, _children_cpu_s() - curl_before)


def _age(identity_file: Path, blob: Path) -> Run:
    before = _children_cpu_s()
    started = time.perf_counter()
    subprocess.run(["age", "-d", "-i", str(identity_file), "-o", os.devnull, str(blob)], check=True)
    return Run(time.perf_counter() - started, _children_cpu_s() - before)


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
        path = f"/lawyer/cases/{number}/attachments/{attachment_id}"
        runs: dict[str, list[Run]] = {"gunicorn": [], "nginx": [], "age": []}
        with gunicorn(environ) as server:
            # Staff pages answer on every port here (no INTAKE_STAFF_PORT), so
            # both of the front's listeners may point at the one gunicorn port.
            upstream = Gunicorn(server.port, server.port, work / "gunicorn.log")
            with front(work, upstream) as nginx:
                client = Client(server.port)
                _log_in(client, lawyer)
                for _ in range(RUNS):
                    runs["gunicorn"].append(_download(client, server, server.port, path, size))
                    runs["nginx"].append(_download(client, server, nginx.staff_port, path, size))
                    runs["age"].append(_age(identity_file, blob))
        gib = size / (1024 * MIB)
        wall = {name: statistics.median(run.wall_s for run in each) for name, each in runs.items()}
        cpu = {name: statistics.median(run.cpu_s for run in each) for name, each in runs.items()}
        report(
            f"lawyer download {size // MIB} MiB vs age -d, same blob (median of {RUNS})",
            {
                "gunicorn_mib_s": size / MIB / wall["gunicorn"],
                "via_nginx_mib_s": size / MIB / wall["nginx"],
                "age_d_mib_s": size / MIB / wall["age"],
                "ratio": wall["age"] / wall["gunicorn"],
                "ratio_via_nginx": wall["age"] / wall["nginx"],
                "workers_cpu_s_per_gib": cpu["gunicorn"] / gib,
                "curl_cpu_s_per_gib": statistics.median(run.client_cpu_s for run in runs["gunicorn"]) / gib,
                "age_d_cpu_s_per_gib": cpu["age"] / gib,
                "cpu_ratio": cpu["age"] / cpu["gunicorn"],
                "load_average": os.getloadavg()[0],
            },
        )


if __name__ == "__main__":
    logging.disable(logging.INFO)
    main(quick="--quick" in sys.argv[1:])
