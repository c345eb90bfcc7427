"""WTForms' own messages on the public forms follow the page's language, request after request."""

from __future__ import annotations

from flask import Flask
from werkzeug.datastructures import MultiDict
from wtforms import RadioField

from intake.submit.wtforms_messages import PublicForm


class _OneChoice(PublicForm):
    class Meta:
        csrf = False

    choice = RadioField(choices=[("yes", "yes")])


def _error_for_a_forged_choice(app: Flask, language: str) -> str:
    with app.test_request_context(f"/request?lang={language}"):
        form = _OneChoice(formdata=MultiDict({"choice": "forged"}))
        assert not form.validate()
        return str(form.choice.errors[0])


def test_a_forged_choice_is_refused_in_the_language_of_each_page(app: Flask) -> None:
    errors = [_error_for_a_forged_choice(app, language) for language in ("ru", "en", "uk", "ru")]
    assert errors == ["Неверный вариант.", "Not a valid choice.", "Недійсний варіант.", "Неверный вариант."]
