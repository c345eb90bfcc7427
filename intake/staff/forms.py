from __future__ import annotations

import enum
import uuid
from typing import TypeVar

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Regexp, ValidationError

from config.channels import MAX_ADDRESS_CHARS, ChannelKind, normalise_address
from crypto import is_valid_recipient
from intake.models import CaseStatus
from intake.questions import question
from intake.services.accounts import MAX_PASSPHRASE_LENGTH
from intake.services.cases import MAX_MESSAGE_LENGTH
from intake.services.inbox import InboxFilters, InboxOrder
from intake.services.search import MAX_QUERY_CHARS, MIN_QUERY_CHARS

# Only the shape: addresses are never mailed to, they are login names that people read.
EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

# How age writes identities (secret keys); a lawyer may paste the wrong line of key.txt.
AGE_IDENTITY_PREFIX = "AGE-SECRET-KEY-"

EnumT = TypeVar("EnumT", bound=enum.Enum)
HELP_KINDS = frozenset(choice.value for choice in question("help_kind").choices)

STATUS_LABELS = {
    CaseStatus.NEW: _l("New"),
    CaseStatus.IN_PROGRESS: _l("In progress"),
    CaseStatus.WAITING_FOR_SUBMITTER: _l("Waiting for the submitter"),
    CaseStatus.CLOSED: _l("Closed"),
}


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=320)])
    passphrase = PasswordField(
        _l("Passphrase"), validators=[DataRequired(), Length(max=MAX_PASSPHRASE_LENGTH)]
    )
    totp_code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=12)]
    )
    # The page to return to after a session ended; checked again before it is followed.
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class EnrolForm(FlaskForm):
    passphrase = PasswordField(
        _l("Passphrase"), validators=[DataRequired(), Length(max=MAX_PASSPHRASE_LENGTH)]
    )
    passphrase_again = PasswordField(
        _l("Passphrase again"),
        validators=[DataRequired(), EqualTo("passphrase", message=_l("The two passphrases differ."))],
    )
    totp_code = StringField(
        _l("Code from your authenticator app"), validators=[DataRequired(), Length(max=12)]
    )
    submit = SubmitField(_l("Create my account"))


class AdminSetupForm(EnrolForm):
    email = EmailField(
        _l("Your email"),
        validators=[
            DataRequired(),
            Regexp(EMAIL_SHAPE, message=_l("Enter an email address.")),
            Length(max=320),
        ],
    )


class MessageForm(FlaskForm):
    message = TextAreaField(_l("Message"), validators=[DataRequired(), Length(max=MAX_MESSAGE_LENGTH)])
    submit = SubmitField(_l("Send"))


class ReplyForm(MessageForm):
    status_after = SelectField(
        _l("Status after sending"),
        choices=[SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()],
        default=CaseStatus.WAITING_FOR_SUBMITTER.value,
    )


class StatusForm(FlaskForm):
    status = SelectField(
        _l("Status"), choices=[SelectChoice(status.value, label) for status, label in STATUS_LABELS.items()]
    )
    submit = SubmitField(_l("Change status"))


class AssignForm(FlaskForm):
    # Empty value: nobody. Choices are filled per request with the vetted lawyers.
    assignee = SelectField(_l("Assigned to"), choices=[])
    submit = SubmitField(_l("Assign"))


class ExportForm(FlaskForm):
    # The public half of a key the lawyer made with age-keygen on their own offline computer.
    recipient = StringField(
        _l("Your offline age public key"),
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[DataRequired(), Length(max=100)],
    )
    submit = SubmitField(_l("Download encrypted export"))

    def validate_recipient(self, recipient: StringField) -> None:
        if recipient.data.upper().startswith(AGE_IDENTITY_PREFIX):
            # Never echo a secret back into the page (and so into caches and screenshots).
            recipient.data = ""
            raise ValidationError(
                _l(
                    "That is a secret key: it must never be typed into any website. Treat it as "
                    "exposed: make a new key with age-keygen and paste only its public key (age1…)."
                )
            )
        if not is_valid_recipient(recipient.data):
            raise ValidationError(
                _l("That is not an age public key. It starts with “age1” and is printed by age-keygen.")
            )


class RekeyForm(FlaskForm):
    """Re-encrypt a case's items to every vetted lawyer: a button with its CSRF token."""

    submit = SubmitField(_l("Give access now"))


class InboxFilterForm(FlaskForm):
    # A GET form: filtering changes nothing, so it needs no CSRF token.
    class Meta:
        csrf = False

    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Any")),
            *(SelectChoice(s.value, label) for s, label in STATUS_LABELS.items()),
        ],
    )
    assignee = SelectField(_l("Assigned to"), choices=[])
    help_kind = SelectField(
        _l("Help needed"),
        choices=[
            SelectChoice("", _l("Any")),
            *(SelectChoice(choice.value, choice.label) for choice in question("help_kind").choices),
        ],
    )
    new = BooleanField(_l("Only with new activity"))
    order = SelectField(
        _l("Order"),
        choices=[
            SelectChoice(InboxOrder.URGENCY.value, _l("Urgent first")),
            SelectChoice(InboxOrder.ACTIVITY.value, _l("Latest activity first")),
        ],
    )

    def filters(self) -> InboxFilters:
        """What was asked for; a value the form does not offer counts as no filter."""
        return InboxFilters(
            status=_member_or_none(CaseStatus, self.status.data),
            assignee_id=_uuid_or_none(self.assignee.data),
            unassigned_only=self.assignee.data == "nobody",
            help_kind=self.help_kind.data if self.help_kind.data in HELP_KINDS else None,
            new_activity_only=bool(self.new.data),
            order=_member_or_none(InboxOrder, self.order.data) or InboxOrder.URGENCY,
        )

    def query_args(self) -> dict[str, str]:
        """The filters as URL arguments, for the page links."""
        args = {
            name: str(self[name].data)
            for name in ("status", "assignee", "help_kind", "order")
            if self[name].data
        }
        if self.new.data:
            args["new"] = "y"
        return args


def _member_or_none(enum_class: type[EnumT], value: str | None) -> EnumT | None:
    try:
        return enum_class(value) if value else None
    except ValueError:
        return None


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


class SearchForm(FlaskForm):
    query = StringField(
        _l("Words to find"),
        validators=[
            DataRequired(),
            Length(
                min=MIN_QUERY_CHARS,
                max=MAX_QUERY_CHARS,
                message=_l("Type between %(min)d and %(max)d characters."),
            ),
        ],
        render_kw={"autocomplete": "off", "maxlength": MAX_QUERY_CHARS},
    )
    submit = SubmitField(_l("Search"))


ADDRESS_ERRORS = {
    ChannelKind.NTFY: _l("An ntfy topic is 1 to 64 letters, digits, - or _."),
    ChannelKind.SIGNAL: _l("Write the number in international form, starting with + and the country code."),
    ChannelKind.MATRIX: _l("Give a room id (!…:server) or a room alias (#…:server)."),
}


class ChannelAddress:
    """Checks a push address and keeps it as Apprise takes it (a Signal number without spaces)."""

    def __init__(self, kind: ChannelKind) -> None:
        self.kind = kind

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        if not field.data or not field.data.strip():
            field.data = None
            return
        address = normalise_address(self.kind, field.data)
        if address is None:
            raise ValidationError(str(ADDRESS_ERRORS[self.kind]))
        field.data = address


class NotificationsForm(FlaskForm):
    daily_digest = BooleanField(_l("Once a day: how many new requests and messages arrived"))
    urgent_alerts = BooleanField(_l("As soon as an urgent request arrives"))
    by_email = BooleanField(_l("By email"))
    ntfy_address = StringField(
        _l("ntfy topic"),
        validators=[Length(max=MAX_ADDRESS_CHARS), ChannelAddress(ChannelKind.NTFY)],
        render_kw={"maxlength": MAX_ADDRESS_CHARS, "spellcheck": "false"},
    )
    signal_address = StringField(
        _l("Signal number"),
        validators=[Length(max=MAX_ADDRESS_CHARS), ChannelAddress(ChannelKind.SIGNAL)],
        render_kw={"maxlength": MAX_ADDRESS_CHARS, "inputmode": "tel"},
    )
    matrix_address = StringField(
        _l("Matrix room"),
        validators=[Length(max=MAX_ADDRESS_CHARS), ChannelAddress(ChannelKind.MATRIX)],
        render_kw={"maxlength": MAX_ADDRESS_CHARS, "spellcheck": "false"},
    )
    submit = SubmitField(_l("Save"))

    def address_field(self, kind: ChannelKind) -> StringField:
        field: StringField = getattr(self, f"{kind.value}_address")
        return field

    def addresses(self, offered: frozenset[ChannelKind]) -> dict[ChannelKind, str]:
        return {kind: self.address_field(kind).data for kind in offered if self.address_field(kind).data}

    def validate_routes(self, offered: frozenset[ChannelKind], email_offered: bool) -> bool:
        """Something to receive needs somewhere to receive it; the error keeps what was typed."""
        if not (self.daily_digest.data or self.urgent_alerts.data):
            return True
        if (email_offered and self.by_email.data) or self.addresses(offered):
            return True
        self.by_email.errors = [str(_l("Choose at least one way to receive them: email or a channel below."))]
        return False


class ConfirmForm(FlaskForm):
    """A button with only a CSRF token: logout, approve, suspend…"""

    submit = SubmitField(_l("Confirm"))
