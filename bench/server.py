"""Real gunicorn with config/gunicorn.py on a loopback port, and a small HTTP client for it.

The benchmarks that matter to a submitter run through the server that ships,
not the Werkzeug test client, so the HTTP layer's own cost is in the figures.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_REDIS_URL = os.environ.get("INTAKE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def child_pids(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_seconds(pids: list[int]) -> float:
    """User plus system CPU time these processes have used so far (exited ones count as nothing)."""
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            continue
        # Fields after the command name, which may itself hold spaces or parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]

    # One listener serves both: what the front (tests/servers.py) expects of an upstream.
    @property
    def public_port(self) -> int:
        return self.port

    @property
    def staff_port(self) -> int:
        return self.port

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def workers_cpu_seconds(self) -> float:
        return cpu_seconds(self.worker_pids())

    def workers_rss_kib(self) -> int:
        """Resident memory of all workers now, in KiB."""
        total = 0
        for pid in self.worker_pids():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                continue
            total += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        return total

    def cpu_seconds(self) -> float:
        """CPU time (user and system) that the master and its live workers have used so far."""
        return cpu_seconds([self.process.pid, *self.worker_pids()])


@contextmanager
def gunicorn(
    environ: Mapping[str, str], workers: int | None = 2, threads: int = 8, app: str = "wsgi:app"
) -> Iterator[Server]:
    """Production settings from config/gunicorn.py; `environ` adds the app's configuration.

    `workers=None` keeps the file's own choice (2 x CPUs + 1, at most 8). `app`
    is the WSGI application gunicorn serves.
    """
    port = free_port()
    env = {
        **os.environ,
        "INTAKE_ENV": "production",
        "RATELIMIT_STORAGE_URI": BENCH_REDIS_URL,
        **environ,
        "INTAKE_BIND": f"127.0.0.1:{port}",
        "INTAKE_THREADS": str(threads),
        "INTAKE_LOG_LEVEL": "warning",
    }
    if workers is not None:
        env["INTAKE_WORKERS"] = str(workers)
    else:
        env.pop("INTAKE_WORKERS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", app],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(port, process)
    try:
        _wait_until_answering(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def _wait_until_answering(server: Server) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.process.returncode}")
        try:
            if Client(server.port).get("/healthz").status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within a minute")


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def csrf_token(self) -> str:
        match = _CSRF.search(self.text)
        if match is None:
            raise AssertionError("the page has no CSRF token")
        return match.group(1)


@dataclass
class Client:
    """One browser: a keep-alive connection and its cookies (Secure ones too: it is loopback)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    _connection: http.client.HTTPConnection | None = None

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_form(self, path: str, fields: Mapping[str, str]) -> Reply:
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def post_multipart(self, path: str, fields: Mapping[str, str]) -> Reply:
        boundary = "----IntakeBenchBoundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
            for name, value in fields.items()
        ]
        body = ("".join(parts) + f"--{boundary}--\r\n").encode()
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: Mapping[str, str] = {}
    ) -> Reply:  # noqa: B006 — never mutated
        response = self.open(method, path, body, headers)
        data = response.read()
        return Reply(response.status, data, dict(response.getheaders()))

    def open(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] = {},  # noqa: B006
    ) -> http.client.HTTPResponse:
        """Send a request and return the response unread, for streaming."""
        if self._connection is None:
            self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        all_headers = dict(headers)
        if self.cookies:
            all_headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        self._connection.request(method, path, body, all_headers)
        response = self._connection.getresponse()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        if response.getheader("Connection", "").lower() == "close":
            self._connection = None
        return response
