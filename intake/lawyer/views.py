from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.wrappers.response import Response as BaseResponse
from wtforms.fields.choices import SelectChoice

from intake import questions
from intake.configuration import current_config
from intake.db import get_session
from intake.errors import render_error
from intake.extensions import csrf, limiter
from intake.i18n import LANGUAGES
from intake.lawyer.reply_upload import StorageFull, reply_recipients, streamed_reply
from intake.models import Case, CaseStatus, User
from intake.ratelimit import global_key
from intake.request_limits import page_argument, page_cursor_argument
from intake.services import accounts, cases, downloads, export, lawyer_sessions, notifications, rekey
from intake.services import search as search_service
from intake.services.blobstore import BlobStore
from intake.services.inbox import SCAN_LIMIT
from intake.services.inbox import inbox as inbox_page
from intake.services.multipart_stream import MalformedUpload, UploadInterrupted, UploadTooLarge
from intake.staff.access import (
    StaffContext,
    loads_case,
    requires_session,
    requires_vetted,
    start_staff_session,
)
from intake.staff.enrolment import enrolment_page
from intake.staff.forms import (
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
from intake.staff.limits import global_login_rate_limit, login_rate_limit
from intake.staff.return_path import safe_return_path

bp = Blueprint("lawyer", __name__, url_prefix="/lawyer")
# Stored answers are stable choice values; show them as the form asked them.
bp.add_app_template_global(questions.question_label, "question_label")
bp.add_app_template_global(questions.answer_label, "answer_label")

# The reply form's CSRF token, as its prefix names it; checked inside the upload stream.
REPLY_CSRF_FIELD = "reply-csrf_token"
CODE_ALREADY_USED = _l(
    "This code was already used. Wait until your authenticator app shows the next one (at most "
    "30 seconds), then type that one."
)
LOGIN_FAILED = _l(
    "Those details did not work. Check them and try again; after several attempts, wait a few minutes."
)


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
# Each attempt costs an Argon2 derivation, whoever asks: cap them all together too.
@limiter.limit(global_login_rate_limit, scope="staff-login-global", key_func=global_key, methods=["POST"])
def login() -> str | BaseResponse:
    if g.get("current_user") is not None:
        return redirect(url_for(".inbox"))
    form = LoginForm(next=request.args.get("next"))
    if form.validate_on_submit():
        db = get_session()
        try:
            logged_in = accounts.log_in(
                db, current_config(), form.email.data, form.passphrase.data, form.totp_code.data
            )
        except accounts.CodeAlreadyUsed:
            flash(CODE_ALREADY_USED, "error")
            return render_template("lawyer/login.html", form=form, session_ended=False)
        if logged_in is not None:
            ticket = lawyer_sessions.start_session(db, logged_in.user, logged_in.identity_secret)
            start_staff_session(ticket)
            return redirect(safe_return_path(form.next.data) or url_for(".inbox"))
        flash(LOGIN_FAILED, "error")
    return render_template("lawyer/login.html", form=form, session_ended="ended" in request.args)


@bp.post("/logout")
@requires_session
def logout(staff: StaffContext) -> BaseResponse:
    if ConfirmForm().validate_on_submit():
        lawyer_sessions.log_out(get_session(), staff.session_id, staff.user, staff.identity)
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
        return accounts.enrol_from_invite(db, current_config(), invite, passphrase, totp_secret, code)

    return enrolment_page(token, form, email=invite.email, enrol=enrol_invitee, vetted=False)


@bp.get("/pending")
@requires_session
def pending(staff: StaffContext) -> str:
    return render_template(
        "lawyer/pending.html", user=staff.user, fingerprint=accounts.key_fingerprint(staff.user)
    )


@bp.get("/")
@requires_vetted
def inbox(staff: StaffContext) -> str:
    form = InboxFilterForm(request.args)
    form.assignee.choices = _assignee_choices(first=SelectChoice("", _("Anyone")))
    page = inbox_page(
        get_session(), staff.user, staff.identity, form.filters(), page_argument(), page_cursor_argument()
    )
    return render_template(
        "lawyer/inbox.html",
        form=form,
        inbox=page,
        filter_args=form.query_args(),
        scan_limit=SCAN_LIMIT,
        # Translated once per page, not once per row: 50 rows made 150 catalogue look-ups.
        urgency_names=questions.answer_labels("urgency"),
        help_kind_names=questions.answer_labels("help_kind"),
        status_names={status: str(label) for status, label in STATUS_LABELS.items()},
    )


@bp.route("/search", methods=["GET", "POST"])
@requires_vetted
def search(staff: StaffContext) -> str | tuple[str, int]:
    form = SearchForm()
    if not form.is_submitted():
        return render_template("lawyer/search.html", form=form, result=None)
    if not form.validate():
        return render_template("lawyer/search.html", form=form, result=None), 400
    result = search_service.search(get_session(), staff.user, staff.identity, form.query.data)
    return render_template("lawyer/search.html", form=form, result=result)


@bp.route("/notifications", methods=["GET", "POST"])
@requires_vetted
def notification_settings(staff: StaffContext) -> str | tuple[str, int] | BaseResponse:
    db = get_session()
    config = current_config()
    offered = frozenset(config.notify_channels)
    current = notifications.preferences(db, staff.user, config.secret_key)
    form = NotificationsForm(
        daily_digest=current.daily_digest,
        urgent_alerts=current.urgent_alerts,
        by_email=current.by_email,
        **{f"{kind.value}_address": address for kind, address in current.addresses.items()},
    )
    if form.is_submitted():
        if form.validate() and form.validate_routes(offered, email_offered=config.smtp_url is not None):
            chosen = notifications.Preferences(
                daily_digest=bool(form.daily_digest.data),
                urgent_alerts=bool(form.urgent_alerts.data),
                by_email=bool(form.by_email.data),
                addresses=form.addresses(offered),
            )
            notifications.set_preferences(db, staff.user, chosen, config.secret_key, offered)
            flash(_("Notification settings saved."), "success")
            return redirect(url_for(".notification_settings"))
        return _notifications_page(form, staff.user.email), 400
    return _notifications_page(form, staff.user.email)


def _notifications_page(form: NotificationsForm, email: str) -> str:
    config = current_config()
    # The lawyer subscribes on the operator's server, so they see its host (never a token in the URL).
    servers = {
        kind: urlsplit(template).netloc.rpartition("@")[2] for kind, template in config.notify_channels.items()
    }
    return render_template(
        "lawyer/notifications.html",
        form=form,
        email=email if config.smtp_url is not None else None,
        servers=servers,
    )


@bp.get("/cases/<int:case_number>")
@requires_vetted
@loads_case
def case(staff: StaffContext, case: Case) -> str:
    return _case_page(staff, case, ExportForm())


@bp.post("/cases/<int:case_number>/reply")
@csrf.exempt
@requires_vetted
@loads_case
def reply(staff: StaffContext, case: Case) -> str | tuple[str, int] | BaseResponse:
    sealed_to = reply_recipients(case)
    with streamed_reply(sealed_to.file_recipients, REPLY_CSRF_FIELD) as upload:
        form = ReplyForm(formdata=upload.fields, prefix="reply")
        if not form.validate():
            flash(_("The reply was empty or too long; nothing was sent, no file was kept."), "error")
            return redirect(url_for(".case", case_number=case.number))
        if upload.too_large:
            # Read to their end and dropped: sending the reply without them would mislead.
            for filename in upload.too_large:
                flash(
                    _("“%(name)s” is larger than this service accepts; nothing was sent.", name=filename),
                    "error",
                )
            return _case_page(staff, case, ExportForm(), reply_form=form), 400
        cases.add_reply(
            get_session(),
            case,
            staff.user,
            form.message.data,
            upload.files,
            status_after=CaseStatus(form.status_after.data),
            recipients=sealed_to.recipients,
        )
    flash(_("Reply sent. The submitter sees it when they return with their codename."), "success")
    return redirect(url_for(".case", case_number=case.number))


@bp.errorhandler(UploadTooLarge)
def reply_too_large(error: UploadTooLarge) -> tuple[str, int]:
    return render_error(413, limit_text=_size_text(error.limit_bytes) if error.limit_bytes else "")


@bp.errorhandler(MalformedUpload)
def reply_malformed(error: MalformedUpload) -> tuple[str, int]:
    return render_error(400, interrupted=isinstance(error, UploadInterrupted))


@bp.errorhandler(StorageFull)
def reply_storage_full(_error: StorageFull) -> tuple[str, int]:
    return render_error(503)


@bp.post("/cases/<int:case_number>/note")
@requires_vetted
@loads_case
def note(staff: StaffContext, case: Case) -> BaseResponse:
    form = MessageForm(prefix="note")
    if form.validate_on_submit():
        cases.add_note(get_session(), case, staff.user, form.message.data)
        flash(_("Note saved. Only lawyers can read it."), "success")
    else:
        flash(_("The note was empty or too long; nothing was saved."), "error")
    return redirect(url_for(".case", case_number=case.number))


@bp.post("/cases/<int:case_number>/status")
@requires_vetted
@loads_case
def change_status(staff: StaffContext, case: Case) -> BaseResponse:
    form = StatusForm()
    if form.validate_on_submit():
        cases.set_status(get_session(), case, staff.user, CaseStatus(form.status.data))
        flash(_("Status saved."), "success")
    return redirect(url_for(".case", case_number=case.number))


@bp.post("/cases/<int:case_number>/assign")
@requires_vetted
@loads_case
def assign(staff: StaffContext, case: Case) -> BaseResponse:
    db = get_session()
    form = AssignForm()
    form.assignee.choices = _assignee_choices(first=SelectChoice("", _("Nobody")), include_nobody=False)
    if form.validate_on_submit():
        cases.assign(db, case, staff.user, _uuid_or_none(form.assignee.data))
        flash(_("Assignment saved."), "success")
    return redirect(url_for(".case", case_number=case.number))


@bp.get("/cases/<int:case_number>/attachments/<uuid:attachment_id>")
@requires_vetted
@loads_case
def download(staff: StaffContext, case: Case, attachment_id: uuid.UUID) -> Response:
    target = downloads.find_download(get_session(), case, attachment_id, staff.user, staff.identity)
    if target is None:
        abort(404)
    chunks = downloads.decrypted_chunks(
        BlobStore(current_config().blob_dir), target.blob_name, staff.identity.secret
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
def export_case(staff: StaffContext, case: Case) -> Response | tuple[str, int]:
    form = ExportForm()
    if not form.validate_on_submit():
        return _case_page(staff, case, form), 400
    prepared = export.prepare_export(get_session(), case, staff.user, staff.identity, form.recipient.data)
    readme = render_template("lawyer/export_readme.txt", export=prepared)
    chunks = export.archive_chunks(
        BlobStore(current_config().blob_dir), prepared, readme, staff.identity.secret
    )
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
def rekey_case(staff: StaffContext, case: Case) -> BaseResponse:
    if RekeyForm().validate_on_submit():
        report = rekey.rekey_case(
            get_session(), BlobStore(current_config().blob_dir), case, staff.identity.secret, actor=staff.user
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


def _case_page(
    staff: StaffContext, case: Case, export_form: ExportForm, reply_form: ReplyForm | None = None
) -> str:
    """The case page; a refused export or reply shows it again with that form as it was sent."""
    db = get_session()
    items = cases.read_case(db, case, staff.user, staff.identity)
    status_form = StatusForm(status=case.status.value)
    assign_form = AssignForm(assignee=str(case.assignee_id) if case.assignee_id else "")
    assign_form.assignee.choices = _assignee_choices(
        first=SelectChoice("", _("Nobody")), include_nobody=False
    )
    return render_template(
        "lawyer/case.html",
        case=case,
        items=items,
        reply_form=reply_form or ReplyForm(prefix="reply"),
        note_form=MessageForm(prefix="note"),
        status_form=status_form,
        assign_form=assign_form,
        export_form=export_form,
        # Offered only to a lawyer who can open an out-of-date item: anybody
        # else's key could re-encrypt nothing.
        rekey_form=RekeyForm() if rekey.stale_items_readable_by(db, case, staff.user) else None,
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


def _size_text(size: int) -> str:
    """A size in the public pages' words: their `describe_size` filter, which lawyer templates use too.

    The submit blueprint registers it for the whole app; this blueprint may not import it.
    """
    return str(current_app.jinja_env.filters["describe_size"](size))
