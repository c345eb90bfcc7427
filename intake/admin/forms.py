from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Regexp

from intake.models import Role
from intake.staff.forms import EMAIL_SHAPE


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(),
            Regexp(EMAIL_SHAPE, message=_l("Enter an email address.")),
            Length(max=320),
        ],
    )
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(Role.LAWYER.value, _l("Lawyer")), SelectChoice(Role.ADMIN.value, _l("Admin"))],
    )
    submit = SubmitField(_l("Create invitation link"))
