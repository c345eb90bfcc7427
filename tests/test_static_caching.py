"""Static assets live at content-hash URLs that browsers cache for good; pages are never cached.

Over Tor each revalidation is a round trip, so a page view must not re-check
its stylesheet, logo and script every time.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, url_for
from flask.testing import FlaskClient

from intake.static_assets import IMMUTABLE, content_versions

ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def _asset_urls(page: str) -> list[str]:
    return [url.replace("&amp;", "&") for url in ASSET.findall(page)]


def test_pages_link_versioned_assets_that_are_cached_for_good(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.headers["Cache-Control"] == "no-store"
    urls = _asset_urls(page.get_data(as_text=True))
    assert {url.split("?")[0] for url in urls} >= {"/static/style.css", "/static/logo.png"}
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{16}$", url), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["Cache-Control"] == IMMUTABLE, url
        assert asset.headers["X-Content-Type-Options"] == "nosniff"


def test_every_static_file_gets_a_versioned_url(app: Flask) -> None:
    with app.test_request_context():
        for filename in ("style.css", "logo.png", "upload-progress.js"):
            assert re.fullmatch(rf"/static/{re.escape(filename)}\?v=[0-9a-f]{{16}}", url_for("static", filename=filename))


def test_unversioned_or_stale_asset_urls_are_revalidated(client: FlaskClient) -> None:
    # An old page may still name the file as it was: that URL must not pin today's bytes.
    for url in ("/static/style.css", "/static/style.css?v=0000000000000000"):
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-cache", url


def test_the_version_follows_the_content(tmp_path: Path) -> None:
    (tmp_path / "style.css").write_text("body { color: black }")
    before = content_versions(tmp_path)["style.css"]
    (tmp_path / "style.css").write_text("body { color: navy }")
    assert content_versions(tmp_path)["style.css"] != before
