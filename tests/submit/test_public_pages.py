"""The landing page and the form: in the visitor's language, light, no script, nothing third-party."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from intake import create_app
from tests.conftest import make_config
from tests.submit.helpers import ReadersFixture

FORM_PAGE_BUDGET_BYTES = 30 * 1024
# With JavaScript on, the in-browser encryption bundle comes on top (docs/benchmarks.md).
FORM_PAGE_WITH_SCRIPTS_BUDGET_BYTES = 110 * 1024
SCRIPT_TAG = '<script src="/static/upload-progress.js" defer>'
DATA_TAG = '<script type="application/json" id="intake-encryption">'
ENCRYPT_SCRIPT = re.compile(r'<script src="/static/intake-encrypt\.js" integrity="sha384-[A-Za-z0-9+/=]{64}" defer>')


@pytest.mark.parametrize(
    ("accept_language", "heading", "safety_advice"),
    [
        ("en-GB,en;q=0.8", "Ask for legal help safely", "Do not use a work computer"),
        (
            "ru-RU,ru;q=0.9,en;q=0.5",
            "Безопасное обращение за юридической помощью",
            "Не пользуйтесь рабочим компьютером",
        ),
        ("uk,ru;q=0.8", "Безпечне звернення по юридичну допомогу", "Не користуйтеся робочим комп’ютером"),
    ],
)
def test_the_landing_page_speaks_the_browsers_language(
    client: FlaskClient, accept_language: str, heading: str, safety_advice: str
) -> None:
    page = client.get("/", headers={"Accept-Language": accept_language}).get_data(as_text=True)
    assert heading in page
    assert safety_advice in page
    assert "Tor Browser" in page


def test_a_language_link_wins_over_the_browser_and_is_remembered(client: FlaskClient) -> None:
    page = client.get("/?lang=uk", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="uk">' in page
    assert 'href="?lang=ru"' in page
    assert '<html lang="uk">' in client.get("/codename", headers={"Accept-Language": "ru"}).get_data(
        as_text=True
    )


def test_the_form_page_with_its_assets_stays_under_30_kb(
    client: FlaskClient, readers: ReadersFixture
) -> None:
    page = client.get("/request?lang=ru")
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert assets, "the page should use its stylesheet and logo"
    sizes = {asset: len(client.get(asset).data) for asset in set(assets)}
    # A browser without JavaScript (Tor Browser's Safest level) does not fetch scripts.
    without_scripts = len(page.data) + sum(size for asset, size in sizes.items() if not asset.endswith(".js"))
    assert without_scripts < FORM_PAGE_BUDGET_BYTES
    assert len(page.data) + sum(sizes.values()) < FORM_PAGE_WITH_SCRIPTS_BUDGET_BYTES


@pytest.mark.parametrize("path", ["/", "/request", "/codename"])
def test_public_pages_need_no_script_and_load_nothing_from_elsewhere(
    client: FlaskClient, readers: ReadersFixture, path: str
) -> None:
    html = client.get(path).get_data(as_text=True)
    # The form only gains optional, same-origin scripts (upload progress, in-browser
    # encryption under Subresource Integrity) and their data, which is JSON, never run.
    scripts = re.findall(r"<script[^>]*>", html)
    if path == "/request":
        assert scripts[:2] == [SCRIPT_TAG, DATA_TAG] and len(scripts) == 3
        assert ENCRYPT_SCRIPT.fullmatch(scripts[2])
        # The integrity the page names is that of the bytes served
        bundle = client.get("/static/intake-encrypt.js").data
        expected = "sha384-" + base64.b64encode(hashlib.sha384(bundle).digest()).decode()
        assert f'integrity="{expected}"' in scripts[2]
    else:
        assert scripts == []
    assert " style=" not in html
    assert not re.search(r'(?:href|src|action)="(?:https?:)?//', html)


def test_landing_page_names_the_organisation_when_configured(tmp_path: Path, database_url: str) -> None:
    app = create_app(make_config(tmp_path, database_url, INTAKE_ORGANISATION_NAME="Правозащитная группа «Тест»"))
    client = app.test_client()
    page = client.get("/?lang=uk", base_url="https://localhost").get_data(as_text=True)
    assert "Цей сервіс веде Правозащитная группа «Тест»." in page
