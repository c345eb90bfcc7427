"""config/gunicorn.py: no addresses or user agents in logs, settings fit slow Tor uploads."""

from __future__ import annotations

import importlib
import logging
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from gunicorn.config import Config as GunicornConfig

import config.gunicorn as gunicorn_settings
from tests.servers import gunicorn, raw_exchange

# Atoms of gunicorn's access log format that identify a person or leak tokens,
# or date and size a submission.
IDENTIFYING_ATOMS = ("%(h)s", "%(a)s", "%(f)s", "%(r)s", "%(q)s", "%(U)s", "%({", "%(u)s")
DATING_ATOMS = ("%(t)s", "%(T)s", "%(D)s", "%(M)s", "%(L)s", "%(B)s", "%(b)s")


def load(module: ModuleType) -> GunicornConfig:
    """Apply the module as `gunicorn -c python:config.gunicorn` would (validators included)."""
    cfg = GunicornConfig()
    for name in dir(module):
        if name in cfg.settings:
            cfg.set(name, getattr(module, name))
    return cfg


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for variable in ("INTAKE_BIND", "INTAKE_WORKERS", "INTAKE_THREADS", "INTAKE_STALL_TIMEOUT"):
        monkeypatch.delenv(variable, raising=False)
    yield importlib.reload(gunicorn_settings)
    monkeypatch.undo()
    importlib.reload(gunicorn_settings)


def test_no_access_log_and_no_address_in_its_format(fresh_settings: ModuleType) -> None:
    cfg = load(fresh_settings)
    assert cfg.accesslog is None
    for atom in IDENTIFYING_ATOMS + DATING_ATOMS:
        assert atom not in cfg.access_log_format, f"access log format contains {atom}"
    assert not re.search(r"%\(\{[^}]*\}[ie]\)s", cfg.access_log_format), "no request/response headers"


def test_no_forwarded_headers_are_trusted(fresh_settings: ModuleType) -> None:
    cfg = load(fresh_settings)
    assert cfg.forwarded_allow_ips == []
    assert cfg.secure_scheme_headers == {}
    assert cfg.proxy_protocol in (False, "off")


def test_threads_and_timeouts_for_slow_uploads(fresh_settings: ModuleType) -> None:
    cfg = load(fresh_settings)
    assert cfg.worker_class_str == "gthread"
    assert cfg.threads >= 4
    assert cfg.timeout >= 60
    assert cfg.graceful_timeout >= 300
    assert fresh_settings.stall_timeout >= 60
    assert cfg.control_socket_disable is True


def test_workers_follow_the_cpu_count(monkeypatch: pytest.MonkeyPatch, fresh_settings: ModuleType) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: {0}, raising=False)
    assert importlib.reload(gunicorn_settings).workers == 3
    monkeypatch.setattr("os.sched_getaffinity", lambda _pid: set(range(64)), raising=False)
    assert importlib.reload(gunicorn_settings).workers == 8, "capped for memory"
    monkeypatch.setenv("INTAKE_WORKERS", "5")
    assert importlib.reload(gunicorn_settings).workers == 5


def test_bind_from_environment(monkeypatch: pytest.MonkeyPatch, fresh_settings: ModuleType) -> None:
    assert load(fresh_settings).bind == ["0.0.0.0:8000"]
    monkeypatch.setenv("INTAKE_BIND", "0.0.0.0:8000, 0.0.0.0:8001")
    assert load(importlib.reload(gunicorn_settings)).bind == ["0.0.0.0:8000", "0.0.0.0:8001"]


@pytest.mark.parametrize(
    "message",
    [
        "Invalid request from ip=203.0.113.7: Invalid HTTP Version",
        "Invalid request from ip=2001:db8::5: bad",
        "Invalid request from ip=::ffff:198.51.100.2: bad",
        "peer [2001:db8:0:0:0:0:0:1]:443 went away",
        "Listening at: http://192.0.2.1:8000 (1)",
    ],
)
def test_addresses_are_redacted(message: str) -> None:
    scrubbed = gunicorn_settings.redact_addresses(message)
    assert "[address]" in scrubbed
    assert not re.search(r"\d+\.\d+\.\d+\.\d+|db8|ffff", scrubbed)


@pytest.mark.parametrize(
    "message",
    ["[2026-11-26 10:52:33 +0000] [12] [INFO] Booting worker with pid: 12", "Starting gunicorn 27.0.1"],
)
def test_harmless_messages_are_kept(message: str) -> None:
    assert gunicorn_settings.redact_addresses(message) == message


def test_gunicorn_error_log_is_filtered(caplog: pytest.LogCaptureFixture) -> None:
    gunicorn_settings._install_filter()
    logger = logging.getLogger("gunicorn.error")
    with caplog.at_level(logging.WARNING, logger="gunicorn.error"):
        logger.warning("Invalid request from ip={ip}: {error}".format(ip="198.51.100.9", error="x"))
        logger.warning("from %s", "198.51.100.10")
    assert "198.51.100" not in caplog.text
    assert caplog.text.count("[address]") == 2


def test_stalled_connections_time_out() -> None:
    left, right = socket.socketpair()
    try:
        request = SimpleNamespace(unreader=SimpleNamespace(sock=left))
        gunicorn_settings.pre_request(SimpleNamespace(), request)
        assert left.gettimeout() == gunicorn_settings.stall_timeout
        gunicorn_settings.pre_request(SimpleNamespace(), SimpleNamespace())  # no socket: no error
    finally:
        left.close()
        right.close()


def test_the_error_log_keeps_dates_not_times(fresh_settings: ModuleType) -> None:
    logger_class = load(fresh_settings).logger_class
    formatter = logging.Formatter(logger_class.error_fmt, logger_class.datefmt)
    record = logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1, "Booting worker", None, None)
    assert re.fullmatch(r"\[\d{4}-\d{2}-\d{2}\]", formatter.formatTime(record, logger_class.datefmt))


def test_a_running_gunicorn_sends_no_server_header(tmp_path: Path, database_url: str) -> None:
    with gunicorn(tmp_path, database_url) as server:
        response = raw_exchange(server.public_port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = response.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200")
    assert b"\r\nserver:" not in head


def test_a_worker_accepts_only_what_its_threads_can_serve(
    monkeypatch: pytest.MonkeyPatch, fresh_settings: ModuleType
) -> None:
    """A worker whose threads all stream uploads leaves new connections to the other workers."""
    assert load(fresh_settings).worker_connections == load(fresh_settings).threads
    monkeypatch.setenv("INTAKE_THREADS", "12")
    cfg = load(importlib.reload(gunicorn_settings))
    assert cfg.worker_connections == cfg.threads == 12


def test_a_worker_freezes_what_it_loaded_at_start(tmp_path: Path, database_url: str) -> None:
    """The app's import-time objects are out of the full collections that stalled inbox views."""
    with gunicorn(tmp_path, database_url, wsgi_app="tests.deploy.frozen_at_start_app:app") as server:
        response = raw_exchange(
            server.public_port, b"GET /frozen-objects HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    # Flask, SQLAlchemy, Jinja and the app itself: far more than a bare interpreter's few thousand.
    assert int(body) > 50_000
