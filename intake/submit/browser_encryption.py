"""The help request and follow-ups when the page's script encrypted them (JavaScript on).

The request and replies pages publish the recipient set (as non-executable
JSON) and load intake-encrypt.js with Subresource Integrity. The script
uploads each file's ciphertext through the chunked upload endpoints, then
posts here only ciphertext and upload ids. Without JavaScript none of this
runs and the forms post to `submit.send_request` and `submit.send_follow_up`
as before.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale, gettext
from werkzeug.datastructures import MultiDict

from intake.configuration import current_config
from intake.db import get_session
from intake.errors import render_error
from intake.extensions import csrf
from intake.questions import CONTACT_CHOICES_WITH_VALUE, HELP_REQUEST_QUESTIONS
from intake.services.blobstore import BlobStore
from intake.services.browser_submissions import (
    BrowserSubmissionRefused,
    attachment_id_of,
    finished_files,
    parse_follow_up,
    parse_submission,
    read_text_form,
    recipient_set_fingerprint,
)
from intake.services.chunked_uploads import ChunkedUploads
from intake.services.form_codenames import FORM_CODENAME_FIELD
from intake.services.multipart_stream import form_boundary
from intake.services.sources import current_login
from intake.services.submissions import (
    SealedInBrowser,
    add_follow_up,
    create_submission,
    form_sent_by_browser,
    is_latest_item,
)
from intake.submit.recipients import current_recipients
from intake.submit.sending import (
    global_upload_limit,
    held_codename,
    per_client_upload_limit,
    receipt_page,
    require_csrf_token,
    require_request_tokens,
    stored_receipt_of,
    upload_recipients,
)
from intake.submit.uploads import forget_uploads, owned_upload_lengths

SCRIPT = "intake-encrypt.js"


def add_browser_encryption(blueprint: Blueprint) -> None:
    blueprint.register_error_handler(BrowserSubmissionRefused, submission_refused)
    blueprint.add_url_rule("/request/encrypted", view_func=send_encrypted_request, methods=["POST"])
    blueprint.add_url_rule("/replies/encrypted", view_func=send_encrypted_follow_up, methods=["POST"])
    blueprint.add_app_template_global(browser_encryption_settings)
    blueprint.add_app_template_global(encryption_script_integrity)


def submission_refused(error: BrowserSubmissionRefused) -> tuple[str, int]:
    return render_error(error.status)


def encryption_script_integrity() -> str:
    return _integrity(Path(current_app.static_folder or "") / SCRIPT)


@cache
def _integrity(path: Path) -> str:
    # Computed once per process from the file served: the tag and the bytes cannot disagree.
    digest = hashlib.sha384(path.read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode("ascii")


# Which form the script enhances: the help request, or a returning submitter's follow-up.
EncryptedForm = Literal["request", "followUp"]


def browser_encryption_settings(kind: EncryptedForm) -> dict[str, Any] | None:
    """What the script needs, published as JSON on the request page (`kind` "request") or the
    replies page ("followUp"); None when not accepting."""
    recipients = current_recipients()
    if recipients is None:
        return None
    settings = {
        "kind": kind,
        "recipients": list(recipients.recipients),
        "fingerprint": recipient_set_fingerprint(recipients.recipients),
        "uploadUrl": url_for("submit.create_upload"),
        "text": _texts(),
    }
    if kind == "followUp":
        # FollowUpForm's check: a message or at least one file; the plain way says which is missing.
        return settings | {
            "questions": [],
            "submitUrl": url_for("submit.send_encrypted_follow_up"),
        }
    return settings | {
        "questions": [question.name for question in HELP_REQUEST_QUESTIONS],
        # The checks HelpRequestForm makes, so that an incomplete form goes the plain way and gets its notes.
        "required": [question.name for question in HELP_REQUEST_QUESTIONS if question.required] + ["message"],
        "contact": {
            "choice": "contact_preference",
            "value": "contact_value",
            "choicesWithValue": sorted(CONTACT_CHOICES_WITH_VALUE),
        },
        "submitUrl": url_for("submit.send_encrypted_request"),
    }


def _texts() -> dict[str, str]:
    return {
        "encrypting": gettext("Encrypting in this browser and sending…"),
        "retrying": gettext("The connection was lost. Trying again in %(seconds)s s…", seconds="{s}"),
        "cancel": gettext("Cancel"),
        "cancelled": gettext("Sending was cancelled. Nothing was stored."),
        "cancelledAfterPost": gettext(
            "Sending was stopped after your request had gone out: it may have arrived. Check with "
            "the codename above before you send again."
        ),
        "followUpCancelledAfterPost": gettext(
            "Sending was stopped after your message had gone out: it may have arrived. If you send it "
            "again, the lawyers may get it twice."
        ),
        "loggedOut": gettext(
            "Your session ended before this was sent, so nothing was stored. Copy your text, log in again "
            "with your codename and send it again."
        ),
        "reloadRestarts": gettext(
            "Files are encrypted in this browser before they leave it. If you reload this page, "
            "files start again from the beginning."
        ),
        "recipientsChanged": gettext(
            "The lawyers of this service changed while you were writing. Copy your text, reload the page "
            "and send again."
        ),
        "slow": gettext(
            "Encryption is slow in this browser (its security level turns off the fast JavaScript engine). "
            "Large files will take longer."
        ),
    }


@per_client_upload_limit
@global_upload_limit
@csrf.exempt
def send_encrypted_request() -> tuple[str, int] | str:
    recipients = upload_recipients()
    fields = _text_form()
    require_request_tokens(fields)
    held = held_codename(fields.get(FORM_CODENAME_FIELD))
    submission = parse_submission(fields, recipients.recipients)
    sent = form_sent_by_browser(
        submission.item_ciphertext,
        submission.summary_ciphertext,
        submission.urgent,
        [attachment_id_of(upload_id) for upload_id in submission.upload_ids],
    )
    uploads = ChunkedUploads(BlobStore(current_config().blob_dir))
    try:
        with finished_files(
            uploads, submission.upload_ids, owned_upload_lengths(), len(recipients.recipients)
        ) as files:
            receipt = create_submission(
                get_session(),
                current_config(),
                recipients,
                held.codename,
                {},
                "",
                files,
                SealedInBrowser(submission.item_ciphertext, submission.summary_ciphertext, submission.urgent),
                language=str(get_locale()),
            )
    except BrowserSubmissionRefused:
        # Uploads are handed over once a request stores them: this may be that very post again.
        repeat = stored_receipt_of(held, sent)
        if repeat is None:
            raise
        receipt = repeat
    forget_uploads(list(submission.upload_ids))
    return receipt_page(held, receipt, encrypted_in_browser=True)


@per_client_upload_limit
@global_upload_limit
@csrf.exempt
def send_encrypted_follow_up() -> ResponseReturnValue:
    """A logged-in submitter's follow-up as their browser sealed it: as `submit.send_follow_up` stores
    one, never read here. A post sent again after its answer was lost stores nothing more."""
    recipients = upload_recipients()
    fields = _text_form()
    require_csrf_token(fields)
    login = current_login(get_session(), session, current_config().secret_key)
    if login is None:
        # The page keeps the text; the script says to log in again. Uploads stay for the sweeper.
        raise BrowserSubmissionRefused(403, "no submitter is logged in")
    follow_up = parse_follow_up(fields, recipients.recipients)
    if not is_latest_item(get_session(), login.source_id, follow_up.item_ciphertext):
        uploads = ChunkedUploads(BlobStore(current_config().blob_dir))
        with finished_files(
            uploads, follow_up.upload_ids, owned_upload_lengths(), len(recipients.recipients)
        ) as files:
            add_follow_up(get_session(), login.source_id, recipients, "", files, follow_up.item_ciphertext)
    forget_uploads(list(follow_up.upload_ids))
    flash(gettext("Your message was encrypted in this browser and sent to the lawyers."), "success")
    return redirect(url_for("submit.replies"))


def _text_form() -> MultiDict[str, str]:
    return read_text_form(request.stream, form_boundary(request.mimetype, request.mimetype_params))
