"""Static files under content-hash URLs, cached by browsers for good.

Over Tor every revalidation is a round trip of a second or more, so a page
view should cost one request. `url_for("static", ...)` adds `v=<hash of the
file>`; a request whose `v` matches the file as served now may be cached
forever, since a changed file gets a new URL. Anything else (no `v`, or a
stale one from an old page) is revalidated every time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, Response, request

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
VERSION_ARG = "v"


def content_versions(folder: Path) -> dict[str, str]:
    """Each file's path under `folder` (as `filename` in url_for) and a short hash of its bytes."""
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def init_app(app: Flask) -> None:
    versions = content_versions(Path(app.static_folder)) if app.static_folder else {}

    @app.url_defaults
    def add_version(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and VERSION_ARG not in values:
            version = versions.get(str(values.get("filename", "")))
            if version is not None:
                values[VERSION_ARG] = version

    @app.after_request
    def cache_static(response: Response) -> Response:
        if request.endpoint == "static":
            filename = str((request.view_args or {}).get("filename", ""))
            current = versions.get(filename)
            versioned = current is not None and request.args.get(VERSION_ARG) == current
            response.headers["Cache-Control"] = IMMUTABLE if versioned else REVALIDATE
        return response
