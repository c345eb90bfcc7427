"""Gunicorn settings for Intake: `gunicorn -c python:config.gunicorn wsgi:app`.

Written for a Tor onion service on a small VPS:

* Threads, not sync workers. Over Tor an upload can take an hour; a sync
  worker would be pinned for all of it, and a handful of slow (or
  deliberately stalled) clients would take the whole site down. With
  `gthread` every request holds one thread, and the worker's heartbeat keeps
  running meanwhile, so `timeout` never kills a slow but live upload.
  Threads still wait on a client's headers without a timeout, so in the
  compose stack nginx (deploy/front/) stands in front and hands gunicorn
  only complete requests.
* A stalled connection is dropped: once the headers are in, every read and
  write on the socket may wait at most `INTAKE_STALL_TIMEOUT` seconds.
* No access log, and addresses are scrubbed from gunicorn's own messages.
  Behind Tor every peer is the tor daemon anyway, but a clearnet mirror
  would see real addresses, and we promise never to write one down. Log
  lines carry the date, not the time of day (`DayOnlyLogger`), and no
  `Server` header names gunicorn.
* A body of known length is read straight off the socket (config/socket_body.py):
  gunicorn's own reader copied every byte three or four times.
* No proxy is trusted for `X-Forwarded-*`: neither tor nor the front server
  sets such headers, so whoever sends them is lying.
* Nothing is written to the (read-only) root filesystem.
* What a worker loads at start is frozen out of the garbage collector's
  full collections (`post_worker_init`).

Every value can be overridden from the environment (`INTAKE_BIND`,
`INTAKE_WORKERS`, `INTAKE_THREADS`, `INTAKE_STALL_TIMEOUT`), and any gunicorn
flag on the command line still wins over this file.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.http import wsgi as gunicorn_wsgi

from config.socket_body import read_body_from_socket


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    number = int(value)
    if number <= 0:
        raise ValueError(f"{name} must be a positive integer")
    return number


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours `docker run --cpuset-cpus`
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# --- Server socket -----------------------------------------------------------
# In the container tor reaches the app over the internal Docker network, so it
# listens on all interfaces of that network namespace; nothing is published.
# Comma-separated for several listeners (the lawyers' onion uses :8001).
bind = [
    address.strip()
    for address in os.environ.get("INTAKE_BIND", "0.0.0.0:8000").split(",")
    if address.strip()
]
backlog = 256

# --- Workers -----------------------------------------------------------------
# Each worker holds the app (~60-100 MB) and every concurrent unlock holds one
# 64 MiB Argon2id buffer, hence the cap for small VPSes.
workers = _int_env("INTAKE_WORKERS", min(2 * _cpu_count() + 1, 8))
worker_class = "gthread"
threads = _int_env("INTAKE_THREADS", 8)
# A worker takes a connection only when one of its threads is free for it.
# gthread would otherwise accept up to 1000 and queue them behind busy
# threads: with streamed uploads holding every thread of one worker, a page
# it accepted would wait for an upload to end while another worker idles.
# The front (deploy/front/nginx.conf) keeps no connection to gunicorn open
# between requests, so none is kept alive here either (gunicorn says so in
# a warning at start); `keepalive` below still bounds how long an accepted
# connection may wait for its first bytes.
worker_connections = threads
# Heartbeat of a frozen worker (not request duration: gthread keeps beating
# while a thread streams a long upload).
timeout = 120
# On restart or upgrade, let in-flight uploads finish for up to 10 minutes.
graceful_timeout = 600
# Tor circuits are slow to build; keep idle connections a little longer.
keepalive = 15
# Per read/write on a connection that is sending or receiving a request.
stall_timeout = _int_env("INTAKE_STALL_TIMEOUT", 300)

# --- Request limits ----------------------------------------------------------
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# --- Proxies -----------------------------------------------------------------
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
proxy_protocol = "off"

# --- Filesystem --------------------------------------------------------------
# Files the app creates (blobs, SQLite) are private to its user. Gunicorn's
# own `umask` setting only covers its sockets, so `on_starting` sets the
# process umask too, which the workers inherit.
umask = 0o077
# Heartbeat files on tmpfs; the root filesystem is read-only.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 — private tmpfs
# The runtime control socket would be created under $HOME; there is none.
control_socket_disable = True

# --- Logging -----------------------------------------------------------------
# No access log at all. Should somebody enable one with --access-logfile, this
# format has no remote address (%(h)s), user agent (%(a)s), referrer (%(f)s),
# no path or query (%(r)s, %(U)s, %(q)s: invite links carry tokens), and no
# time, size or duration (%(t)s, %(B)s, %(M)s: they date and size a
# submission): only method and status.
accesslog = None
access_log_format = "%(m)s %(s)s"
errorlog = "-"
loglevel = os.environ.get("INTAKE_LOG_LEVEL", "info")
capture_output = False
proc_name = "intake"

_IPV4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
_IPV6 = (
    r"(?<![\w:])(?:"
    r"[0-9A-Fa-f:]*:(?:\d{1,3}\.){3}\d{1,3}"  # IPv4-mapped
    r"|[0-9A-Fa-f:]*::[0-9A-Fa-f:]*"  # compressed
    r"|(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}"  # full form
    r")(?![\w.])"
)
_ADDRESS = re.compile(rf"\[?(?:{_IPV6}|{_IPV4})\]?(?::\d{{1,5}})?")


def redact_addresses(message: str) -> str:
    return _ADDRESS.sub("[address]", message)


class RedactAddresses(logging.Filter):
    """Gunicorn reports e.g. 'Invalid request from ip=…' at WARNING level."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = redact_addresses(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


_FILTER = RedactAddresses()


class DayOnlyLogger(Logger):
    """Gunicorn's error log with dates, not times of day (docs/operators.md, "Logs")."""

    datefmt = r"[%Y-%m-%d]"


logger_class = DayOnlyLogger


def _drop_server_header() -> None:
    """Gunicorn names itself in a `Server` header on every response; nothing needs it.

    It has no setting for this, so its response's default headers are
    filtered once in the master, before the workers fork.
    """
    original = gunicorn_wsgi.Response.default_headers
    if getattr(original, "drops_server_header", False):
        return

    def default_headers(response: gunicorn_wsgi.Response) -> list[str]:
        return [line for line in original(response) if not line.lower().startswith("server:")]

    default_headers.drops_server_header = True  # type: ignore[attr-defined]
    gunicorn_wsgi.Response.default_headers = default_headers


def _install_filter() -> None:
    for name in ("gunicorn.error", "gunicorn.access"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def on_starting(server: Any) -> None:
    os.umask(umask)
    _install_filter()
    _drop_server_header()
    _refuse_per_worker_rate_limits(server)
    _end_staff_sessions()


def _refuse_per_worker_rate_limits(server: Any) -> None:
    """Fail closed: with `memory://` every worker counts alone, so N workers allow N times each limit."""
    from config import Config

    config = Config.from_env()
    if not config.is_production or not config.ratelimit_storage_uri.startswith("memory://"):
        return
    if server.cfg.workers > 1:
        # gunicorn prints a RuntimeError from here as "Error: …" and exits 1.
        raise RuntimeError(
            f"{server.cfg.workers} workers would each keep their own rate-limit counters (memory://): "
            "set RATELIMIT_STORAGE_URI to a shared store such as redis://redis:6379/0, or INTAKE_WORKERS=1"
        )


def _end_staff_sessions() -> None:
    """Restart policy: a (re)started server holds no server half of any unlocked key.

    Runs once in the master, before any worker serves, including when Docker
    restarts a crashed container. If the database cannot be reached the start
    fails (the app could not serve anyway) and the restart policy retries.
    """
    # Imported here, not at the top: reading this file must not need the app
    # (gunicorn --check-config, the deploy tests), only starting it does.
    from sqlalchemy.orm import Session

    from config import Config
    from intake.db import make_engine
    from intake.services.lawyer_sessions import end_every_session_and_record

    engine = make_engine(Config.from_env().database_url)
    try:
        with Session(engine) as session:
            ended = end_every_session_and_record(session)
    finally:
        engine.dispose()
    logging.getLogger("gunicorn.error").info("ended %d staff session(s) on start", ended)


def post_fork(server: Any, worker: Any) -> None:
    _install_filter()


def post_worker_init(worker: Any) -> None:
    """Keep the loaded app out of the cyclic garbage collector's full collections.

    Everything imported and built at start (Flask, SQLAlchemy, Jinja, the
    catalogues: about 220,000 objects) lives as long as the worker, yet each
    full collection walked all of it: 70-130 ms of one request's time every
    few dozen inbox views (docs/benchmarks.md). Frozen, a full collection
    walks only what requests left behind.
    """
    gc.collect()
    gc.freeze()


def pre_request(worker: Any, req: Any) -> None:
    # The default hook logs method and path at debug level; we log nothing
    # here (the app logs the route pattern, never the raw path).
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(stall_timeout)
    read_body_from_socket(req)
