from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers.response import Response as BaseResponse

from intake.admin.audit_labels import action_label, detail_label
from intake.admin.forms import InviteForm
from intake.configuration import current_config
from intake.db import get_session
from intake.extensions import limiter
from intake.models import Role, User, UserStatus
from intake.request_limits import page_argument
from intake.services import accounts, audit, vetting
from intake.services.cases import staff_emails
from intake.staff.access import StaffContext, requires_admin
from intake.staff.enrolment import enrolment_page
from intake.staff.forms import AdminSetupForm, ConfirmForm
from intake.staff.limits import login_rate_limit

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.context_processor
def staff_context() -> dict[str, object]:
    return {"home_endpoint": "lawyer.inbox", "logout_form": ConfirmForm()}


@bp.route("/setup/<token>", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def setup(token: str) -> str | tuple[str, int]:
    db = get_session()
    if not accounts.admin_setup_token_is_valid(db, token):
        return render_template("lawyer/enrol_unavailable.html"), 404
    form = AdminSetupForm()

    def enrol_first_admin(passphrase: str, totp_secret: str, code: str) -> User:
        return accounts.enrol_first_admin(
            db, current_config(), form.email.data, passphrase, totp_secret, code
        )

    return enrolment_page(token, form, email=None, enrol=enrol_first_admin, vetted=True)


@bp.get("/")
@requires_admin
def people(staff: StaffContext) -> str:
    db = get_session()
    return render_template(
        "admin/people.html",
        staff=vetting.staff_by_status(db),
        UserStatus=UserStatus,
        fingerprint=accounts.key_fingerprint,
        invite_form=InviteForm(),
        action_form=ConfirmForm(),
    )


@bp.post("/invites")
@requires_admin
def invite(staff: StaffContext) -> str | BaseResponse:
    db = get_session()
    form = InviteForm()
    if not form.validate_on_submit():
        flash(_("Enter a valid email address."), "error")
        return redirect(url_for(".people"))
    if accounts.email_is_taken(db, form.email.data):
        flash(_("Somebody with this email address already has an account."), "error")
        return redirect(url_for(".people"))
    token = accounts.create_invite(db, form.email.data, Role(form.role.data), inviter=staff.user)
    # Shown once and never stored in the clear: the admin passes it on out of band.
    return render_template(
        "admin/invite_created.html",
        email=accounts.normalise_email(form.email.data),
        url=(current_config().base_url or "") + url_for("lawyer.enrol", token=token),
    )


@bp.get("/people/<uuid:person_id>")
@requires_admin
def person(staff: StaffContext, person_id: uuid.UUID) -> str:
    db = get_session()
    person = db.get(User, person_id) or abort(404)
    return render_template(
        "admin/person.html",
        person=person,
        fingerprint=accounts.key_fingerprint(person),
        sole_reader_cases=vetting.cases_only_readable_by(db, person),
        transitions=sorted(vetting.ALLOWED_TRANSITIONS[person.status], key=lambda status: status.value),
        action_form=ConfirmForm(),
    )


@bp.post("/people/<uuid:person_id>/status/<status>")
@requires_admin
def change_status(staff: StaffContext, person_id: uuid.UUID, status: str) -> BaseResponse:
    db = get_session()
    person = db.get(User, person_id) or abort(404)
    if not ConfirmForm().validate_on_submit() or status not in {s.value for s in UserStatus}:
        abort(400)
    try:
        vetting.change_status(db, staff.user, person, UserStatus(status))
    except ValueError:
        flash(_("That change is not possible for this person."), "error")
    else:
        flash(_status_changed(person), "success")
    return redirect(url_for(".person", person_id=person.id))


def _status_changed(person: User) -> str:
    if person.status is UserStatus.VETTED:
        return _(
            "%(email)s is approved: new requests are encrypted to their key from now on. "
            "Older cases need “Give access now” on the case page.",
            email=person.email,
        )
    if person.status is UserStatus.SUSPENDED:
        return _("%(email)s is suspended and can no longer log in.", email=person.email)
    if person.status is UserStatus.REVOKED:
        return _("%(email)s is revoked.", email=person.email)
    return _("%(email)s is waiting for approval again.", email=person.email)


@bp.get("/audit")
@requires_admin
def audit_log(staff: StaffContext) -> str:
    db = get_session()
    page = audit.recent_events(db, page_argument())
    emails = staff_emails(db)
    return render_template(
        "admin/audit.html",
        audit_page=page,
        action_label=action_label,
        detail_label=lambda event: detail_label(event, emails),
    )
