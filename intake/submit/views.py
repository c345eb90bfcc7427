"""Public pages: landing, help request, receipt, codename login, replies, follow-up.

Every page works without JavaScript. The two upload endpoints are exempt from
CSRFProtect, whose check would read `request.form` and so spool files to a
plaintext temp file; they check the token themselves before any file byte is
stored (see `require_csrf_token`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import force_locale, get_locale, gettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict

from intake.configuration import current_config
from intake.db import get_session
from intake.errors import render_error
from intake.extensions import csrf, limiter
from intake.i18n import LANGUAGES
from intake.ratelimit import global_key, passed_csrf_check
from intake.request_limits import streamed_body
from intake.services.blobstore import BlobStore
from intake.services.codenames import misspelt_word
from intake.services.downloads import content_disposition, decrypted_chunks
from intake.services.form_codenames import (
    FORM_CODENAME_FIELD,
    is_same_codename,
)
from intake.services.kept_files import (
    KEPT_FILES_FIELD,
    NOTHING_KEPT,
    InvalidKeptFiles,
    KeptFiles,
    ReopenedFiles,
    keep_files,
    read_kept_list,
    reopen_kept_files,
)
from intake.services.keyring import RecipientSet, submission_recipients
from intake.services.multipart_stream import MalformedUpload, UploadInterrupted, UploadTooLarge, form_boundary
from intake.services.sources import (
    SourceLogin,
    current_login,
    find_reply_attachment,
    find_source,
    log_out,
    remember_login,
    source_case,
)
from intake.services.submissions import (
    EncryptedFile,
    ReceivedUpload,
    StoreNoFiles,
    add_follow_up,
    create_submission,
    form_sent_to_server,
    receive_upload,
    upload_limits,
)
from intake.submit import codename_budget
from intake.submit.accessibility import aria_attributes
from intake.submit.blank_questions import blank_questions
from intake.submit.codename_wait import ask_to_wait, has_waited, spend_wait
from intake.submit.formatting import describe_size, format_day, format_number
from intake.submit.forms import (
    CodenameCheckForm,
    CodenameForm,
    FollowUpForm,
    HelpRequestForm,
    LogoutForm,
    ResumeFollowUpForm,
)
from intake.submit.recipients import current_recipients
from intake.submit.sending import (
    FORM_LANGUAGE_FIELD,
    NotAccepting,
    configured_limit,
    global_upload_limit,
    held_codename,
    new_held_codename,
    per_client_upload_limit,
    receipt_page,
    require_csrf_token,
    require_request_tokens,
    stored_receipt_of,
    upload_recipients,
)

logger = logging.getLogger("intake.submit")

bp = Blueprint("submit", __name__)
bp.add_app_template_filter(format_day, "format_day")
bp.add_app_template_filter(format_number, "format_number")
bp.add_app_template_filter(describe_size, "describe_size")
bp.add_app_template_global(aria_attributes, "aria_attributes")


@bp.app_template_global()
def upload_limit_hint() -> str:
    # Said before the upload: a browser without JavaScript cannot check sizes,
    # and an oversized body may end in a reset connection rather than our 413 page.
    config = current_config()
    return gettext(
        "Up to %(per_file)s per file, %(total)s in all.",
        per_file=describe_size(config.max_file_bytes),
        total=describe_size(config.max_submission_bytes),
    )


@bp.app_template_global()
def upload_limit_bytes() -> dict[str, int]:
    config = current_config()
    return {"file": config.max_file_bytes, "total": config.max_submission_bytes}


# Shared with the follow-up form's codename (intake.submit.codename_budget).
_per_client_login_limit = limiter.shared_limit(
    configured_limit("login_rate_limit"),
    scope=codename_budget.CLIENT_SCOPE,
    methods=["POST"],
    deduct_when=passed_csrf_check,
)
# Wrong codenames only; once they are spent, visitors wait a minute rather than an hour.
_global_login_limit = limiter.shared_limit(
    configured_limit("global_codename_rate_limit"),
    scope=codename_budget.GLOBAL_SCOPE,
    key_func=global_key,
    methods=["POST"],
    deduct_when=lambda response: passed_csrf_check(response) and response.status_code == 400,
    exempt_when=has_waited,
    on_breach=ask_to_wait,
)


class StorageFull(Exception):
    """The blob store's disk cannot take this upload and still keep its reserve."""


@bp.errorhandler(StorageFull)
def storage_full(_error: StorageFull) -> tuple[str, int]:
    return render_error(503)


@bp.errorhandler(UploadTooLarge)
def upload_too_large(error: UploadTooLarge) -> tuple[str, int]:
    limit_text = describe_size(error.limit_bytes) if error.limit_bytes else ""
    return render_error(413, limit_text=limit_text)


@bp.errorhandler(MalformedUpload)
def malformed_upload(error: MalformedUpload) -> tuple[str, int]:
    return render_error(400, interrupted=isinstance(error, UploadInterrupted))


@bp.errorhandler(NotAccepting)
def not_accepting(_error: NotAccepting) -> tuple[str, int]:
    return render_template("submit/not_accepting.html"), 503


def _read_on_if_tokens_fail(fields: MultiDict[str, str]) -> None:
    """The request form's token check; a form that fails it is read whole (no file stored) and comes back."""
    try:
        require_request_tokens(fields)
    except CSRFError:
        raise StoreNoFiles from None


@contextmanager
def _streamed_upload(
    recipients: RecipientSet, check_before_storing: Callable[[MultiDict[str, str]], None] = require_csrf_token
) -> Iterator[ReceivedUpload]:
    """The request body, parsed and encrypted as it arrives; never via `request.form`."""
    limits = upload_limits(current_config())
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise UploadTooLarge(limits.max_files_total_bytes)
    boundary = form_boundary(request.mimetype, request.mimetype_params)
    store = BlobStore(current_config().blob_dir)
    # Browsers always send Content-Length with a form; without one, assume the largest.
    if not store.has_room_for(request.content_length or limits.max_body_bytes):
        logger.warning("blob store is nearly full: refusing uploads until space is freed")
        raise StorageFull
    # Every other route stops reading at intake.request_limits.FORM_BODY_LIMIT.
    body = streamed_body(limits.max_body_bytes)
    with receive_upload(body, boundary, limits, recipients.recipients, store, check_before_storing) as upload:
        yield upload


def source_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Inject the logged-in source as `login`, or send the visitor to the codename page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        login = current_login(get_session(), session, current_config().secret_key)
        if login is None:
            return redirect(url_for(".codename"))
        return view(*args, login=login, **kwargs)

    return wrapper


@bp.get("/")
def index() -> str:
    return render_template("submit/index.html")


@bp.get("/request")
def request_form() -> str:
    if current_recipients() is None:
        return render_template("submit/not_accepting.html")
    return render_template(
        "submit/request.html",
        form=HelpRequestForm(),
        held=new_held_codename(),
        kept=NOTHING_KEPT,
        blank_questions=blank_questions(),
    )


@contextmanager
def _files_of(upload: ReceivedUpload) -> Iterator[ReopenedFiles]:
    """Files kept from an earlier try of this form, then those that arrived now."""
    try:
        entries = read_kept_list(current_config().secret_key, upload.fields.get(KEPT_FILES_FIELD))
    except InvalidKeptFiles as error:
        raise CSRFError(str(error)) from None
    with reopen_kept_files(BlobStore(current_config().blob_dir), entries) as kept:
        yield ReopenedFiles([*kept.files, *upload.files], kept.gone)


def _files_fit(form: FlaskForm, upload: ReceivedUpload, files: ReopenedFiles) -> bool:
    """Adds an error naming each file over a limit, or kept too long to be sent now."""
    field = form["attachments"]
    for filename in upload.too_large:
        field.errors.append(
            gettext("“%(name)s” was not sent: it is larger than this service accepts.", name=filename)
        )
    for entry in files.gone:
        field.errors.append(
            gettext(
                "“%(name)s” was kept too long and is gone. Please choose it again.", name=entry.meta.filename
            )
        )
    return not (upload.too_large or files.gone)


def _keep(files: list[EncryptedFile]) -> KeptFiles:
    return keep_files(BlobStore(current_config().blob_dir), current_config().secret_key, files)


@bp.post("/request")
@per_client_upload_limit
@global_upload_limit
@csrf.exempt
def send_request() -> str | tuple[str, int]:
    recipients = upload_recipients()
    with _streamed_upload(recipients, _read_on_if_tokens_fail) as upload, _files_of(upload) as files:
        form = HelpRequestForm(formdata=upload.fields)
        if upload.refused:
            return _expired_form(form, upload, files.files)
        held = held_codename(upload.fields.get(FORM_CODENAME_FIELD))
        valid = form.validate()
        sent = form_sent_to_server(form.answers(), form.message.data, files.content_digests())
        if not (_files_fit(form, upload, files) and valid):
            # Kept files are gone once a form sends them: this may be that form again.
            repeat = valid and not upload.too_large and stored_receipt_of(held, sent)
            if repeat:
                return receipt_page(held, repeat)
            page = render_template("submit/request.html", form=form, held=held, kept=_keep(files.files))
            return page, 400
        receipt = create_submission(
            get_session(),
            current_config(),
            recipients,
            held.codename,
            form.answers(),
            form.message.data,
            files.files,
            sent=sent,
            language=str(get_locale() or "en"),
        )
    return receipt_page(held, receipt)


def _expired_form(form: HelpRequestForm, upload: ReceivedUpload, kept: list[EncryptedFile]) -> tuple[str, int]:
    """The form back as typed under a new codename: its tokens were stale or another browser's.

    Nothing that arrived with it was stored (files are accepted only behind
    valid tokens); files kept from an earlier try stay kept. The page keeps
    the form's language, which the ended session no longer remembers.
    """
    language = upload.fields.get(FORM_LANGUAGE_FIELD)
    if language in LANGUAGES:
        session["lang"] = language
    else:
        language = str(get_locale())
    with force_locale(language):
        # Not validated (nothing is until the tokens pass), so the errors are set rather than appended.
        form["attachments"].errors = [
            gettext("“%(name)s” was not stored, because the form had expired. Please choose it again.", name=filename)
            for filename in upload.not_stored
        ]
        page = render_template("submit/request.html", form=form, held=new_held_codename(), kept=_keep(kept), expired=True)
    return page, 400


@bp.post("/request/codename-check")
def check_codename() -> ResponseReturnValue:
    """The submitter types the codename back once, so they leave holding it."""
    form = CodenameCheckForm()
    held = held_codename(form.form_codename.data)
    if form.validate_on_submit():
        if is_same_codename(form.typed_codename.data, held.codename):
            return render_template("submit/codename_checked.html")
        form.typed_codename.errors.append(
            gettext("This is not the same codename. Compare it word by word with the one above.")
        )
    form.typed_codename.data = ""
    return receipt_page(held, check_form=form), 400


@bp.route("/codename", methods=["GET", "POST"])
@_per_client_login_limit
@_global_login_limit
def codename() -> ResponseReturnValue:
    if request.method == "POST":
        spend_wait()
    form = CodenameForm()
    if not form.validate_on_submit():
        return render_template("submit/codename.html", form=form), 400 if form.errors else 200
    misspelt = misspelt_word(form.codename.data)
    if misspelt is not None:
        form.codename.errors.append(
            gettext(
                "Word %(position)s, “%(typed)s”, is not one of the codename words. Did you mean “%(suggestion)s”?",
                position=misspelt.position,
                typed=misspelt.typed,
                suggestion=misspelt.suggestion,
            )
        )
        return render_template("submit/codename.html", form=form), 400
    login = find_source(get_session(), current_config(), form.codename.data)
    if login is None:
        form.codename.errors.append(
            gettext("This codename is not known here. Check each word and try again.")
        )
        return render_template("submit/codename.html", form=form), 400
    remember_login(get_session(), session, current_config().secret_key, login)
    return redirect(url_for(".replies"))


def _replies_page(login: SourceLogin, form: FollowUpForm, kept: KeptFiles) -> str:
    case = source_case(get_session(), login)
    if case is None:
        abort(404)
    accepting = submission_recipients(get_session()) is not None
    return render_template(
        "submit/replies.html",
        case=case,
        form=form,
        logout_form=LogoutForm(),
        accepting=accepting,
        kept=kept,
    )


@bp.get("/replies")
@source_required
def replies(login: SourceLogin) -> str:
    return _replies_page(login, FollowUpForm(), kept=NOTHING_KEPT)


@bp.post("/replies")
@per_client_upload_limit
@global_upload_limit
@csrf.exempt
def send_follow_up() -> ResponseReturnValue:
    """A follow-up; if the session ended while it was written, it is kept and the codename asked for."""
    recipients = upload_recipients()
    with _streamed_upload(recipients) as upload, _files_of(upload) as files:
        login = current_login(get_session(), session, current_config().secret_key)
        if login is None:
            resume = ResumeFollowUpForm(formdata=upload.fields)
            login, refusal = _login_to_resume(resume)
            if login is None:
                page = render_template(
                    "submit/resume.html", form=resume, kept=_keep(files.files), refusal=refusal
                )
                return page, 401 if refusal is None else 429
        form = FollowUpForm(formdata=upload.fields)
        valid = form.validate_with_files(len(files.files))
        if not (_files_fit(form, upload, files) and valid):
            return _replies_page(login, form, kept=_keep(files.files)), 400
        add_follow_up(get_session(), login.source_id, recipients, form.message.data, files.files)
    flash(gettext("Your message was encrypted and sent to the lawyers."), "success")
    return redirect(url_for(".replies"))


def _login_to_resume(
    form: ResumeFollowUpForm,
) -> tuple[SourceLogin | None, codename_budget.Refusal | None]:
    """The source named by the codename typed on the resume page, now logged in; None if none yet.

    The codename is tried only within the budgets of the codename page; a
    refusal says why it was not tried.
    """
    typed = (form.codename.data or "").strip()
    if not typed:
        return None, None
    refusal = codename_budget.refusal_before_trying()
    if refusal is not None:
        return None, refusal
    login = find_source(get_session(), current_config(), typed)
    codename_budget.spend_attempt(wrong=login is None)
    if login is None:
        # Not validated (its message is checked once logged in), so errors is still a tuple.
        form.codename.errors = [gettext("This codename is not known here. Check each word and try again.")]
        return None, None
    remember_login(get_session(), session, current_config().secret_key, login)
    return login, None


@bp.get("/replies/<uuid:item_id>/files/<uuid:attachment_id>")
@source_required
def reply_file(login: SourceLogin, item_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    target = find_reply_attachment(get_session(), login, item_id, attachment_id)
    if target is None:
        abort(404)
    chunks = decrypted_chunks(BlobStore(current_config().blob_dir), target.blob_name, login.identity.secret)
    # Always a download, never rendered here: a lawyer's file is not trusted markup.
    return Response(
        chunks,
        mimetype="application/octet-stream",
        headers={"Content-Disposition": content_disposition(target.filename)},
    )


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    if form.validate_on_submit():
        log_out(get_session(), session, current_config().secret_key)
    return redirect(url_for(".index"))
