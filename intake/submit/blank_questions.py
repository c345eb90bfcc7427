"""The questions of an empty help-request form, rendered once per language in each process.

Every visitor in a language gets the same ones (labels, hints, choices; no
answers, no errors), yet rendering them through WTForms and Jinja took about
half of the form page's CPU time (4.4 of 9.1 ms per page). A form that comes
back with answers or errors is rendered afresh.
"""

from __future__ import annotations

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup

from intake.submit.forms import HelpRequestForm

_rendered: dict[str, Markup] = {}


def blank_questions() -> Markup:
    language = str(get_locale())
    html = _rendered.get(language)
    if html is None:
        # Autoescaped template output, so already safe HTML. Two first visitors
        # at once both render it: the same text, stored twice.
        rendered = render_template("submit/_questions.html", form=HelpRequestForm())
        html = _rendered[language] = Markup(rendered)  # noqa: S704
    return html
