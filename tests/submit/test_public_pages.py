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
from tests.submit.multipart import csrf_token, help_request_parts, post_parts, request_tokens

FORM_PAGE_BUDGET_BYTES = 30 * 1024
# Versioned by content (intake/static_assets.py), so browsers cache it for good.
SCRIPT_TAG = r'<script src="/static/upload-progress\.js\?v=[0-9a-f]{16}" defer>'
# With JavaScript on, the in-browser encryption bundle comes on top (docs/benchmarks.md).
FORM_PAGE_WITH_SCRIPTS_BUDGET_BYTES = 110 * 1024
DATA_TAG = '<script type="application/json" id="intake-encryption">'
ENCRYPT_SCRIPT = re.compile(r'<script src="/static/intake-encrypt\.js\?v=[0-9a-f]{16}" integrity="sha384-[A-Za-z0-9+/=]{64}" defer>')


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
    without_scripts = len(page.data) + sum(size for asset, size in sizes.items() if not asset.split("?")[0].endswith(".js"))
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
        assert len(scripts) == 3
        assert re.fullmatch(SCRIPT_TAG, scripts[0]) and scripts[1] == DATA_TAG
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


@pytest.mark.parametrize(
    ("lang", "hidden_data", "what_to_do", "never_altered"),
    [
        ("ru", "В фотографиях и документах есть скрытые данные", "отправьте вместо фотографии её скриншот", "Мы никогда не меняем присланные файлы"),
        ("uk", "У фотографіях і документах є приховані дані", "надішліть замість фотографії її знімок екрана", "Ми ніколи не змінюємо надіслані файли"),
    ],
)
def test_the_file_field_warns_about_hidden_data_in_photos_and_documents(
    client: FlaskClient, readers: ReadersFixture, lang: str, hidden_data: str, what_to_do: str, never_altered: str
) -> None:
    page = client.get(f"/request?lang={lang}").get_data(as_text=True)
    warning = re.search(r'<div class="warning" id="attachments-metadata">(.*?)</div>', page, re.DOTALL)
    assert warning, "no metadata warning beside the file field"
    for advice in (hidden_data, what_to_do, never_altered, "Scrambled Exif", "mat2"):
        assert advice in warning.group(1)
    # Screen readers announce the warning with the file field.
    assert re.search(r'<input[^>]*aria-describedby="attachments-hint attachments-metadata"[^>]*type="file"', page)


@pytest.mark.parametrize(
    ("lang", "level", "skip"),
    [("ru", "«Наиболее безопасный»", "Перейти к основному содержанию"), ("uk", "«Найбезпечніший»", "Перейти до основного вмісту")],
)
def test_tor_browser_security_level_has_its_own_localised_name_and_pages_have_a_skip_link(
    client: FlaskClient, lang: str, level: str, skip: str
) -> None:
    page = client.get(f"/?lang={lang}").get_data(as_text=True)
    assert level in page and "Safest" not in page
    assert f'<a class="skip-link" href="#main">{skip}</a>' in page
    assert '<main id="main"' in page


def test_errors_are_tied_to_their_fields_for_screen_readers(client: FlaskClient, readers: ReadersFixture) -> None:
    # Given a codename form sent empty
    token = csrf_token(client, "/codename?lang=ru")
    page = client.post("/codename", data={"csrf_token": token, "codename": ""}).get_data(as_text=True)

    # Then the field is marked invalid and points at its error list
    field = re.search(r"<input[^>]*id=\"codename\"[^>]*>", page)
    assert field
    assert 'aria-invalid="true"' in field.group(0)
    assert 'aria-describedby="codename-errors"' in field.group(0)
    assert '<ul class="errors" id="codename-errors">' in page


def test_a_missing_choice_marks_its_fieldset_and_the_hint_stays_linked(client: FlaskClient, readers: ReadersFixture) -> None:
    parts = help_request_parts(request_tokens(client, "/request?lang=uk"), "Текст", [], help_kind="")
    page = post_parts(client, "/request", parts).get_data(as_text=True)
    assert '<fieldset aria-describedby="help_kind-errors" aria-invalid="true">' in page
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*name="help_kind"', page)
    country = re.search(r"<input[^>]*id=\"country\"[^>]*>", page)
    assert country and 'aria-describedby="country-hint"' in country.group(0)
    assert "aria-invalid" not in country.group(0)


@pytest.mark.parametrize("lang", ["ru", "uk", "en"])
def test_the_codename_on_the_form_is_marked_in_its_own_language_and_never_restored_on_back(
    client: FlaskClient, readers: ReadersFixture, lang: str
) -> None:
    page = client.get(f"/request?lang={lang}").get_data(as_text=True)
    # A screen reader reads Russian words with a Russian voice, not an English one
    assert f'<p class="codename" id="codename" lang="{lang}">' in page
    # A browser restoring the form on Back must not send an older codename than the page shows
    assert re.search(r'<input type="hidden" name="form_codename" value="[^"]+" autocomplete="off">', page)
