"""The questions of the help-request form, defined once.

An operator who needs other questions edits this file (and translates the new
labels in intake/translations): the form class, the template and the
encrypted payload are all built from these definitions. Answers are stored
inside the item ciphertext as `{name: value}`, where `value` is a choice's
stable `value` (never its translated label) or the text typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString

# A long free-text account must fit; the byte cap on the wire is derived from it.
MESSAGE_MAX_CHARS = 100_000
SHORT_TEXT_MAX_CHARS = 200


@dataclass(frozen=True)
class Choice:
    value: str
    label: LazyString


@dataclass(frozen=True)
class Question:
    name: str
    label: LazyString
    hint: LazyString | None = None
    # Empty for a free-text question.
    choices: tuple[Choice, ...] = ()
    default: str | None = None
    required: bool = False
    max_chars: int = SHORT_TEXT_MAX_CHARS


CONTACT_ONLY_HERE = "this_site"
# Contact channels that need an address or number from the submitter.
CONTACT_CHOICES_WITH_VALUE = ("signal", "email")

HELP_REQUEST_QUESTIONS: tuple[Question, ...] = (
    Question(
        name="help_kind",
        label=lazy_gettext("What do you need help with?"),
        choices=(
            Choice("desertion", lazy_gettext("I left my unit (desertion or absence without leave)")),
            Choice("mobilisation", lazy_gettext("I am refusing mobilisation or a call-up")),
            Choice("relative_left_unit", lazy_gettext("A relative of mine left their unit")),
            Choice("relative_avoiding_mobilisation", lazy_gettext("A relative of mine is hiding from mobilisation")),
            Choice("relative_missing", lazy_gettext("A relative of mine is missing")),
            Choice("detained_relative", lazy_gettext("A relative of mine is detained")),
            Choice("other", lazy_gettext("Something else")),
        ),
        required=True,
    ),
    Question(
        name="country",
        label=lazy_gettext("Which country are you in now?"),
        hint=lazy_gettext(
            "The country is enough. Do not write your address. If you write about a relative, where they are."
        ),
    ),
    Question(
        name="urgency",
        label=lazy_gettext("How urgent is it?"),
        choices=(
            Choice("danger_now", lazy_gettext("I am in danger right now")),
            Choice("days", lazy_gettext("I need an answer within a few days")),
            Choice("weeks", lazy_gettext("It can wait a few weeks")),
        ),
        default="days",
        required=True,
    ),
    Question(
        name="contact_preference",
        label=lazy_gettext("How may a lawyer contact you?"),
        hint=lazy_gettext(
            "The safest way is only through this site: you come back with your codename to read replies."
        ),
        choices=(
            Choice(CONTACT_ONLY_HERE, lazy_gettext("Only through this site")),
            Choice("signal", lazy_gettext("Signal")),
            Choice("email", lazy_gettext("Email")),
        ),
        default=CONTACT_ONLY_HERE,
        required=True,
    ),
    Question(
        name="contact_value",
        label=lazy_gettext("Your Signal number or email address"),
        hint=lazy_gettext("Only if you chose Signal or email above."),
    ),
)


def question(name: str) -> Question:
    """The definition of one question, for pages that show stored answers."""
    for candidate in HELP_REQUEST_QUESTIONS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)


def question_label(name: str) -> str:
    """The translated question for a stored answer; its name if the form has changed since."""
    try:
        return str(question(name).label)
    except KeyError:
        return name


def answer_labels(name: str) -> dict[str, str]:
    """Every choice of a question by stored value, translated once: for a page that shows many answers."""
    return {choice.value: str(choice.label) for choice in question(name).choices}


def answer_label(name: str, value: str) -> str:
    """How to show a stored answer: the translated choice label, or the text as typed."""
    try:
        choices = question(name).choices
    except KeyError:
        return value
    for choice in choices:
        if choice.value == value:
            return str(choice.label)
    return value
