"""A WSGI app that reads a request body the way the upload views do, and keeps none of it.

Served by the same gunicorn settings behind the same front as the app, it
shows what the HTTP layer alone costs (`bench/upload_bench.py`):
`gunicorn -c python:config.gunicorn bench.body_sink:app`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from intake.request_limits import GuardedInput
from intake.services.multipart_stream import READ_CHUNK_BYTES


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = GuardedInput(environ["wsgi.input"])
    received = 0
    while chunk := body.read(READ_CHUNK_BYTES):
        received += len(chunk)
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8")])
    return [str(received).encode()]
