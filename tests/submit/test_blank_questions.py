"""The empty form's questions are rendered once per language; every page must still show what a fresh render shows."""

from __future__ import annotations

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient

from intake.submit.blank_questions import blank_questions
from intake.submit.forms import HelpRequestForm
from tests.submit.helpers import ReadersFixture


@pytest.mark.parametrize("language", ["en", "ru", "uk"])
def test_every_visitor_gets_the_questions_a_fresh_render_gives(
    app: Flask, client: FlaskClient, readers: ReadersFixture, language: str
) -> None:
    pages = [client.get(f"/request?lang={language}").get_data(as_text=True) for _ in range(2)]
    with app.test_request_context(f"/request?lang={language}"):
        app.preprocess_request()
        fresh = render_template("submit/_questions.html", form=HelpRequestForm())
        cached = blank_questions()
    assert str(cached) == fresh
    assert all(fresh in page for page in pages)


def test_each_language_keeps_its_own_questions(app: Flask, client: FlaskClient, readers: ReadersFixture) -> None:
    pages = {language: client.get(f"/request?lang={language}").get_data(as_text=True) for language in ["en", "ru"]}
    assert "What do you need help with?" in pages["en"]
    assert "What do you need help with?" not in pages["ru"]
