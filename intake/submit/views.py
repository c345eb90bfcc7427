"""Public pages: landing, help request, receipt, codename login, replies, follow-up.

Every page works without JavaScript. The two upload endpoints are exempt from
CSRFProtect, whose check would read `request.form` and so spool files to a
plaintext temp file; they check the token themselves before any file byte is
stored (see `_require_csrf_token`).
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
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.datastructures import MultiDict
from wtforms import ValidationError

from config import Config
from intake.db import get_session
from intake.errors import render_error
from intake.extensions import csrf, limiter
from intake.ratelimit import global_key
from intake.services.blobstore import BlobStore
from intake.services.downloads import content_disposition, decrypted_chunks
from intake.services.keyring import RecipientSet, submission_recipients
from intake.services.multipart_stream import MalformedUpload, UploadTooLarge
from intake.services.sources import (
    SourceLogin,
    current_login,
    find_reply_attachment,
    find_source,
    forget_login,
    remember_login,
    source_case,
)
from intake.services.submissions import (
    ReceivedUpload,
    add_follow_up,
    create_submission,
    receive_upload,
    upload_limits,
)
from intake.submit.formatting import describe_size, format_day, format_number
from intake.submit.forms import CodenameForm, FollowUpForm, HelpRequestForm, LogoutForm

logger = logging.getLogger("intake.submit")

bp = Blueprint("submit", __name__)
bp.add_app_template_filter(format_day, "format_day")
bp.add_app_template_filter(format_number, "format_number")


def _config() -> Config:
    config: Config = current_app.config["INTAKE"]
    return config


@bp.app_template_global()
def upload_limit_hint() -> str:
    # Said before the upload: a browser without JavaScript cannot check sizes,
    # and an oversized body may end in a reset connection rather than our 413 page.
    config = _config()
    return gettext(
        "Up to %(per_file)s per file, %(total)s in all.",
        per_file=describe_size(config.max_file_bytes),
        total=describe_size(config.max_submission_bytes),
    )


@bp.app_template_global()
def upload_limit_bytes() -> dict[str, int]:
    config = _config()
    return {"file": config.max_file_bytes, "total": config.max_submission_bytes}


def _configured_limit(name: str) -> Callable[[], str]:
    return lambda: str(getattr(_config(), name))


# Per submitting browser (a random id in its cookie, never an IP) and for the
# whole service, because a client can always drop its cookie.
_per_client_upload_limit = limiter.shared_limit(
    _configured_limit("submit_rate_limit"), scope="uploads", methods=["POST"]
)
_global_upload_limit = limiter.shared_limit(
    _configured_limit("global_submit_rate_limit"),
    scope="uploads-global",
    key_func=global_key,
    methods=["POST"],
)
_per_client_login_limit = limiter.limit(_configured_limit("login_rate_limit"), methods=["POST"])
_global_login_limit = limiter.limit(
    _configured_limit("global_submit_rate_limit"),
    scope="codename-global",
    key_func=global_key,
    methods=["POST"],
)


class NotAccepting(Exception):
    """No vetted lawyer (or no recovery key): nobody could read what would be stored."""


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
def malformed_upload(_error: MalformedUpload) -> tuple[str, int]:
    return render_error(400)


@bp.errorhandler(NotAccepting)
def not_accepting(_error: NotAccepting) -> tuple[str, int]:
    return render_template("submit/not_accepting.html"), 503


def _recipients() -> RecipientSet:
    recipients = submission_recipients(get_session())
    if recipients is None:
        raise NotAccepting
    return recipients


def _require_csrf_token(fields: MultiDict[str, str]) -> None:
    try:
        validate_csrf(fields.get("csrf_token"))
    except ValidationError as error:
        raise CSRFError(error.args[0]) from None


@contextmanager
def _streamed_upload(recipients: RecipientSet) -> Iterator[ReceivedUpload]:
    """The request body, parsed and encrypted as it arrives; never via `request.form`."""
    limits = upload_limits(_config())
    if request.content_length is not None and request.content_length > limits.max_body_bytes:
        raise UploadTooLarge(limits.max_files_total_bytes)
    boundary = request.mimetype_params.get("boundary", "")
    if request.mimetype != "multipart/form-data" or not boundary:
        raise MalformedUpload("not a multipart form")
    store = BlobStore(_config().blob_dir)
    # Browsers always send Content-Length with a form; without one, assume the largest.
    if not store.has_room_for(request.content_length or limits.max_body_bytes):
        logger.warning("blob store is nearly full: refusing uploads until space is freed")
        raise StorageFull
    with receive_upload(
        request.stream, boundary.encode("latin-1"), limits, recipients.recipients, store, _require_csrf_token
    ) as upload:
        yield upload


def source_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Inject the logged-in source as `login`, or send the visitor to the codename page."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        login = current_login(session, _config().secret_key)
        if login is None:
            return redirect(url_for(".codename"))
        return view(*args, login=login, **kwargs)

    return wrapper


@bp.get("/")
def index() -> str:
    return render_template("submit/index.html")


@bp.get("/request")
def request_form() -> str:
    if submission_recipients(get_session()) is None:
        return render_template("submit/not_accepting.html")
    return render_template("submit/request.html", form=HelpRequestForm(), files_discarded=False)


@bp.post("/request")
@_per_client_upload_limit
@_global_upload_limit
@csrf.exempt
def send_request() -> str | tuple[str, int]:
    recipients = _recipients()
    with _streamed_upload(recipients) as upload:
        form = HelpRequestForm(formdata=upload.fields)
        if not form.validate():
            page = render_template("submit/request.html", form=form, files_discarded=bool(upload.files))
            return page, 400
        receipt = create_submission(
            get_session(),
            _config(),
            recipients,
            form.answers(),
            form.message.data,
            upload.files,
            language=str(get_locale() or "en"),
        )
    return render_template("submit/receipt.html", codename=receipt.codename)


@bp.route("/codename", methods=["GET", "POST"])
@_per_client_login_limit
@_global_login_limit
def codename() -> ResponseReturnValue:
    form = CodenameForm()
    if not form.validate_on_submit():
        return render_template("submit/codename.html", form=form), 400 if form.errors else 200
    login = find_source(get_session(), _config(), form.codename.data)
    if login is None:
        form.codename.errors.append(
            gettext("This codename is not known here. Check each word and try again.")
        )
        return render_template("submit/codename.html", form=form), 400
    remember_login(session, _config().secret_key, login)
    return redirect(url_for(".replies"))


def _replies_page(login: SourceLogin, form: FollowUpForm, files_discarded: bool) -> str:
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
        files_discarded=files_discarded,
    )


@bp.get("/replies")
@source_required
def replies(login: SourceLogin) -> str:
    return _replies_page(login, FollowUpForm(), files_discarded=False)


@bp.post("/replies")
@_per_client_upload_limit
@_global_upload_limit
@csrf.exempt
@source_required
def send_follow_up(login: SourceLogin) -> ResponseReturnValue:
    recipients = _recipients()
    with _streamed_upload(recipients) as upload:
        form = FollowUpForm(formdata=upload.fields)
        if not form.validate_with_files(len(upload.files)):
            return _replies_page(login, form, files_discarded=bool(upload.files)), 400
        add_follow_up(get_session(), login.source_id, recipients, form.message.data, upload.files)
    flash(gettext("Your message was encrypted and sent to the lawyers."), "success")
    return redirect(url_for(".replies"))


@bp.get("/replies/<uuid:item_id>/files/<uuid:attachment_id>")
@source_required
def reply_file(login: SourceLogin, item_id: uuid.UUID, attachment_id: uuid.UUID) -> Response:
    target = find_reply_attachment(get_session(), login, item_id, attachment_id)
    if target is None:
        abort(404)
    chunks = decrypted_chunks(BlobStore(_config().blob_dir), target.blob_name, login.identity.secret)
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
        forget_login(session)
    return redirect(url_for(".index"))
