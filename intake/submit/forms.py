"""Forms of the public pages, built from the question definitions in `fields`.

The upload forms are never fed `request.form`: their views hand them the text
fields the streaming parser collected (see intake.services.uploads), so the
CSRF token and every answer are validated by the same WTForms code as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_babel import lazy_gettext
from flask_babel.speaklater import LazyString
from wtforms import (
    Field,
    HiddenField,
    MultipleFileField,
    PasswordField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional
from wtforms.widgets import PasswordInput

from intake.questions import (
    CONTACT_CHOICES_WITH_VALUE,
    HELP_REQUEST_QUESTIONS,
    MESSAGE_MAX_CHARS,
    Question,
)
from intake.submit.wtforms_messages import PublicForm

CHOOSE_ONE = lazy_gettext("Please choose one of the options.")
TOO_LONG = lazy_gettext("This is too long: at most %(max)d characters.")


def _question_field(question: Question) -> Field:
    presence = InputRequired(message=CHOOSE_ONE) if question.required else Optional()
    description = question.hint or ""
    if question.choices:
        return RadioField(
            question.label,
            choices=[SelectChoice(choice.value, choice.label) for choice in question.choices],
            default=question.default,
            validators=[presence],
            description=description,
        )
    return StringField(
        question.label,
        validators=[presence, Length(max=question.max_chars, message=TOO_LONG)],
        description=description,
        render_kw={"maxlength": question.max_chars, "autocomplete": "off"},
    )


def _browser_newlines_to_lf(text: str | None) -> str | None:
    # Browsers send textarea line breaks as CRLF; counting them as two
    # characters would make the maxlength the browser enforced too long here.
    return text.replace("\r\n", "\n") if text else text


def _message_field(label: LazyString, required: bool) -> TextAreaField:
    presence = DataRequired(message=lazy_gettext("Please write a few words.")) if required else Optional()
    return TextAreaField(
        label,
        validators=[presence, Length(max=MESSAGE_MAX_CHARS, message=TOO_LONG)],
        filters=[_browser_newlines_to_lf],
        render_kw={"maxlength": MESSAGE_MAX_CHARS, "rows": 12},
    )


def _files_field() -> MultipleFileField:
    return MultipleFileField(
        lazy_gettext("Files (optional)"),
        description=lazy_gettext("Documents, photos or recordings. You can choose several files at once."),
    )


class HelpRequestForm(PublicForm):
    """The first request. Question fields are attached below from HELP_REQUEST_QUESTIONS."""

    def question_fields(self) -> list[Field]:
        return [self[question.name] for question in HELP_REQUEST_QUESTIONS]

    def answers(self) -> dict[str, str]:
        return {
            question.name: (self[question.name].data or "").strip() for question in HELP_REQUEST_QUESTIONS
        }

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        # Checked here rather than by a validator on the field: its Optional()
        # ends validation early when it is empty, which is the case to catch.
        contact_value = self["contact_value"]
        if (
            self["contact_preference"].data in CONTACT_CHOICES_WITH_VALUE
            and not (contact_value.data or "").strip()
        ):
            contact_value.errors.append(lazy_gettext("Please write the number or address we should use."))
            return False
        return valid


for _question in HELP_REQUEST_QUESTIONS:
    setattr(HelpRequestForm, _question.name, _question_field(_question))
HelpRequestForm.message = _message_field(lazy_gettext("Describe your situation and what help you need"), True)
HelpRequestForm.attachments = _files_field()


class FollowUpForm(PublicForm):
    message = _message_field(lazy_gettext("Your message to the lawyers"), False)
    attachments = _files_field()

    def validate_with_files(self, file_count: int) -> bool:
        valid = self.validate()
        # After validate(): the message's Optional() would end a validator chain early.
        if file_count == 0 and not (self.message.data or "").strip():
            self.message.errors.append(lazy_gettext("Write a message or choose at least one file."))
            return False
        return valid


class CodenameForm(PublicForm):
    # A password field, so nobody reads it over the submitter's shoulder; the
    # typed value comes back after an error, so fixing one word is enough.
    codename = PasswordField(
        lazy_gettext("Your codename"),
        validators=[DataRequired(message=lazy_gettext("Please type your codename."))],
        widget=PasswordInput(hide_value=False),
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class ResumeFollowUpForm(FollowUpForm):
    """A follow-up sent after the session ended: kept as typed, with the codename asked for."""

    codename = StringField(
        lazy_gettext("Your codename"),
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class CodenameCheckForm(PublicForm):
    """On the receipt: the codename typed back once, beside the sealed one the form carried."""

    form_codename = HiddenField()
    typed_codename = StringField(
        lazy_gettext("Type your codename here once, to be sure you have it"),
        validators=[DataRequired(message=lazy_gettext("Please type your codename."))],
        render_kw={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"},
    )


class LogoutForm(PublicForm):
    """Only the CSRF token: leaving is a POST, so another site cannot log somebody out."""
