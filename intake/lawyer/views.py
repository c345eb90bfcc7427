from __future__ import annotations

import uuid

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from crypto import Identity
from intake import security
from intake.db import get_session
from intake.errors import render_error
from intake.extensions import csrf, limiter
from intake.i18n import LANGUAGES
from intake.lawyer.access import (
    intake_config,
    load_staff,
    loads_case,
    requires_session,
    requires_vetted,
    start_staff_session,
)
from intake.lawyer.enrolment import enrolment_page
from intake.lawyer.forms import (
    STATUS_LABELS,
    AssignForm,
    ConfirmForm,
    EnrolForm,
    ExportForm,
    InboxFilterForm,
    LoginForm,
    MessageForm,
    NotificationsForm,
    RekeyForm,
    ReplyForm,
    SearchForm,
    StatusForm,
)
from intake.lawyer.reply_upload import StorageFull, streamed_reply
from intake.models import Case, CaseStatus, User
from intake.return_path import safe_return_path
from intake.services import accounts, audit, cases, downloads, export, lawyer_sessions, notifications, rekey
from intake.services import search as search_service
from intake.services.blobstore import BlobStore
from intake.services.inbox import SCAN_LIMIT
from intake.services.inbox import inbox as inbox_page
from intake.services.multipart_stream import MalformedUpload, UploadTooLarge
from intake.submit import fields
from intake.submit.formatting import describe_size

bp = Blueprint("lawyer", __name__, url_prefix="/lawyer")
# Stored answers are stable choice values; show them as the form asked them.
bp.add_app_template_global(fields.question_label, "question_label")
bp.add_app_template_global(fields.answer_label, "answer_label")
bp.add_app_template_filter(describe_size, "file_size")
bp.before_app_request(load_staff)
security.public("lawyer.login")
security.public("lawyer.enrol")

# The reply form's CSRF token, as its prefix names it; checked inside the upload stream.
REPLY_CSRF_FIELD = "reply-csrf_token"
CODE_ALREADY_USED = _l(
    "This code was already used. Wait until your authenticator app shows the next one (at most "
    "30 seconds), then type that one."
)
LOGIN_FAILED = _l(
    "Those details did not work. Check them and try again; after several attempts, wait a few minutes."
)


def login_rate_limit() -> str:
    return intake_config().login_rate_limit


@bp.context_processor
def staff_context() -> dict[str, object]:
    return {
        "home_endpoint": "lawyer.inbox",
        "status_labels": STATUS_LABELS,
        "language_names": LANGUAGES,
        "logout_form": ConfirmForm(),
    }


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def login() -> str | BaseResponse:
    if g.get("current_user") is not None:
        return redirect(url_for(".inbox"))
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        db = get_session()
        try:
            logged_in = accounts.log_in(
                db, intake_config(), form.email.data, form.passphrase.data, form.totp_code.data
            )
        except accounts.CodeAlreadyUsed:
            flash(CODE_ALREADY_USED, "error")
            return render_template("lawyer/login.html", form=form, session_ended=False)
        if logged_in is not None:
            lawyer_sessions.purge_expired_sessions(db)
            ticket = lawyer_sessions.open_session(db, logged_in.user, logged_in.identity_secret)
            db.commit()
            start_staff_session(ticket)
            return redirect(safe_return_path(form.next.data) or url_for(".inbox"))
        flash(LOGIN_FAILED, "error")
    return render_template("lawyer/login.html", form=form, session_ended="ended" in request.args)


@bp.post("/logout")
@requires_session
def logout(user: User, session_id: str) -> BaseResponse:
    if ConfirmForm().validate_on_submit():
        db = get_session()
        lawyer_sessions.end_session(db, session_id)
        audit.record(db, "logout", actor=user)
        db.commit()
        session.clear()
    return redirect(url_for(".login"))


@bp.route("/enrol/<token>", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def enrol(token: str) -> str | tuple[str, int]:
    db = get_session()
    invite = accounts.usable_invite(db, token)
    if invite is None:
        return render_template("lawyer/enrol_unavailable.html"), 404
    form = EnrolForm()

    def enrol_invitee(passphrase: str, totp_secret: str, code: str) -> User:
        return accounts.enrol_from_invite(db, intake_config(), invite, passphrase, totp_secret, code)

    return enrolment_page(token, form, email=invite.email, enrol=enrol_invitee, vetted=False)


@bp.get("/pending")
@requires_session
def pending(user: User) -> str:
    return render_template("lawyer/pending.html", user=user, fingerprint=accounts.key_fingerprint(user))


@bp.get("/")
@requires_vetted
def inbox(user: User, identity: Identity) -> str:
    form = InboxFilterForm(request.args)
    form.assignee.choices = _assignee_choices(first=SelectChoice("", _("Anyone")))
    page = inbox_page(get_session(), user, identity, form.filters(), request.args.get("page", 1, type=int))
    return render_template(
        "lawyer/inbox.html", form=form, inbox=page, filter_args=form.query_args(), scan_limit=SCAN_LIMIT
    )


@bp.route("/search", methods=["GET", "POST"])
@requires_vetted
def search(user: User, identity: Identity) -> str | tuple[str, int]:
    form = SearchForm()
    if not form.is_submitted():
        return render_template("lawyer/search.html", form=form, result=None)
    if not form.validate():
        return render_template("lawyer/search.html", form=form, result=None), 400
    result = search_service.search(get_session(), user, identity, form.query.data)
    return render_template("lawyer/search.html", form=form, result=result)


@bp.route("/notifications", methods=["GET", "POST"])
@requires_vetted
def notification_settings(user: User) -> str | BaseResponse:
    db = get_session()
    current = notifications.preferences(db, user)
    form = NotificationsForm(daily_digest=current.daily_digest, urgent_alerts=current.urgent_alerts)
    if form.validate_on_submit():
        chosen = notifications.Preferences(bool(form.daily_digest.data), bool(form.urgent_alerts.data))
        notifications.set_preferences(db, user, chosen)
        flash(_("Notification settings saved."), "success")
        return redirect(url_for(".notification_settings"))
    return render_template("lawyer/notifications.html", form=form, email=user.email)


@bp.get("/cases/<int:case_number>")
@requires_vetted
@loads_case
def case(case: Case, user: User, identity: Identity) -> str:
    return _case_page(case, user, identity, ExportForm())


@bp.post("/cases/<int:case_number>/reply")
@csrf.exempt
@requires_vetted
@loads_case
def reply(case: Case, user: User) -> BaseResponse:
    db = get_session()
    recipients = cases.current_recipients(db)
    with streamed_reply(cases.reply_recipients(case, recipients), REPLY_CSRF_FIELD) as upload:
        form = ReplyForm(formdata=upload.fields, prefix="reply")
        if not form.validate():
            flash(_("The reply was empty or too long; nothing was sent, no file was kept."), "error")
            return redirect(url_for(".case", case_number=case.number))
        status_after = CaseStatus(form.status_after.data)
        cases.add_reply(db, case, user, form.message.data, status_after, upload.files, recipients)
    flash(_("Reply sent. The submitter sees it when they return with their codename."), "success")
    return redirect(url_for(".case", case_number=case.number))


@bp.errorhandler(UploadTooLarge)
def reply_too_large(error: UploadTooLarge) -> tuple[str, int]:
    return render_error(413, limit_text=describe_size(error.limit_bytes) if error.limit_bytes else "")


@bp.errorhandler(MalformedUpload)
def reply_malformed(_error: MalformedUpload) -> tuple[str, int]:
    return render_error(400)


@bp.errorhandler(StorageFull)
def reply_storage_full(_error: StorageFull) -> tuple[str, int]:
    return render_error(503)


@bp.post("/cases/<int:case_number>/note")
@requires_vetted
@loads_case
def note(case: Case, user: User) -> BaseResponse:
    form = MessageForm(prefix="note")
    if form.validate_on_submit():
        cases.add_note(get_session(), case, user, form.message.data)
        flash(_("Note saved. Only lawyers can read it."), "success")
    else:
        flash(_("The note was empty or too long; nothing was saved."), "error")
    return redirect(url_for(".case", case_number=case.number))


@bp.post("/cases/<int:case_number>/status")
@requires_vetted
@loads_case
def change_status(case: Case, user: User) -> BaseResponse:
    form = StatusForm()
    if form.validate_on_submit():
        cases.set_status(get_session(), case, user, CaseStatus(form.status.data))
        flash(_("Status saved."), "success")
    return redirect(url_for(".case", case_number=case.number))


@bp.post("/cases/<int:case_number>/assign")
@requires_vetted
@loads_case
def assign(case: Case, user: User) -> BaseResponse:
    db = get_session()
    form = AssignForm()
    form.assignee.choices = _assignee_choices(first=SelectChoice("", _("Nobody")), include_nobody=False)
    if form.validate_on_submit():
        cases.assign(db, case, user, _uuid_or_none(form.assignee.data))
        flash(_("Assignment saved."), "success")
    return redirect(url_for(".case", case_number=case.number))


@bp.get("/cases/<int:case_number>/attachments/<uuid:attachment_id>")
@requires_vetted
@loads_case
def download(case: Case, attachment_id: uuid.UUID, user: User, identity: Identity) -> Response:
    target = downloads.find_download(get_session(), case, attachment_id, user, identity)
    if target is None:
        abort(404)
    chunks = downloads.decrypted_chunks(
        BlobStore(intake_config().blob_dir), target.blob_name, identity.secret
    )
    # Never rendered inline, whatever the submitter claimed the file was.
    return Response(
        chunks,
        mimetype="application/octet-stream",
        headers={
            "Content-Disposition": downloads.content_disposition(target.filename),
            "X-Content-Type-Options": "nosniff",
        },
        direct_passthrough=True,
    )


@bp.post("/cases/<int:case_number>/export")
@requires_vetted
@loads_case
def export_case(case: Case, user: User, identity: Identity) -> Response | tuple[str, int]:
    form = ExportForm()
    if not form.validate_on_submit():
        return _case_page(case, user, identity, form), 400
    prepared = export.prepare_export(get_session(), case, user, identity, form.recipient.data)
    readme = render_template("lawyer/export_readme.txt", export=prepared)
    chunks = export.archive_chunks(BlobStore(intake_config().blob_dir), prepared, readme, identity.secret)
    return Response(
        chunks,
        mimetype="application/zip",
        headers={
            "Content-Disposition": downloads.content_disposition(prepared.download_name),
            "X-Content-Type-Options": "nosniff",
        },
        direct_passthrough=True,
    )


@bp.post("/cases/<int:case_number>/rekey")
@requires_vetted
@loads_case
def rekey_case(case: Case, user: User, identity: Identity) -> BaseResponse:
    if RekeyForm().validate_on_submit():
        report = rekey.rekey_case(
            get_session(), BlobStore(intake_config().blob_dir), case, identity.secret, actor=user
        )
        _flash_rekey_report(report)
    return redirect(url_for(".case", case_number=case.number))


def _flash_rekey_report(report: rekey.RekeyReport) -> None:
    if report.rekeyed_items:
        flash(
            ngettext(
                "%(num)d item re-encrypted: every current lawyer can read it now.",
                "%(num)d items re-encrypted: every current lawyer can read them now.",
                report.rekeyed_items,
            ),
            "success",
        )
    if report.unreadable_items:
        flash(
            ngettext(
                "%(num)d item cannot be opened with your key (or has a damaged file) and was left as it was.",
                "%(num)d items cannot be opened with your key (or have a damaged file) and were left as they were.",
                report.unreadable_items,
            ),
            "error",
        )
    if not report.rekeyed_items and not report.unreadable_items:
        flash(_("Nothing to do: every item already opens for every current lawyer."), "success")


def _case_page(case: Case, user: User, identity: Identity, export_form: ExportForm) -> str:
    """The case page; a refused export shows it again with the export form's errors."""
    db = get_session()
    items = cases.read_case(db, case, user, identity)
    status_form = StatusForm(status=case.status.value)
    assign_form = AssignForm(assignee=str(case.assignee_id) if case.assignee_id else "")
    assign_form.assignee.choices = _assignee_choices(
        first=SelectChoice("", _("Nobody")), include_nobody=False
    )
    return render_template(
        "lawyer/case.html",
        case=case,
        items=items,
        reply_form=ReplyForm(prefix="reply"),
        note_form=MessageForm(prefix="note"),
        status_form=status_form,
        assign_form=assign_form,
        export_form=export_form,
        # Offered only to a lawyer who can open an out-of-date item: anybody
        # else's key could re-encrypt nothing.
        rekey_form=RekeyForm() if rekey.stale_items_readable_by(db, case, user) else None,
    )


def _assignee_choices(first: SelectChoice, include_nobody: bool = True) -> list[SelectChoice]:
    choices = [first]
    if include_nobody:
        choices.append(SelectChoice("nobody", _("Nobody")))
    choices += [
        SelectChoice(str(lawyer.id), lawyer.email) for lawyer in cases.assignable_lawyers(get_session())
    ]
    return choices


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
