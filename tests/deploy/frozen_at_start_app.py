"""The real app behind gunicorn, plus one path that tells how many objects the worker froze.

Served by tests/deploy/test_gunicorn_config.py to check config/gunicorn.py's
`post_worker_init` in a real worker, not by calling the hook.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from typing import Any

from wsgi import app as intake_app


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/frozen-objects":
        body = str(gc.get_freeze_count()).encode()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    return intake_app(environ, start_response)
