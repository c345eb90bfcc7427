"""The whole path a request travels, through the real app and the operator CLI."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import combine_recovery_shares, fingerprint
from intake.models import Attachment, Case, InstanceKeys, Item, ItemKind, User, UserStatus
from intake.services.items import open_item
from tests.lawyer.helpers import (
    STRONG_PASSPHRASE,
    enrol,
    log_in,
    post_form,
    post_reply,
    run_init,
    run_invite,
    totp_code,
    unescape,
)
from tests.submit.multipart import Upload, codename_on, help_request_parts, post_parts, request_tokens
from tests.submit.multipart import csrf_token as submit_csrf_token


def test_init_setup_invite_vet_submit_read_reply(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    # Given an instance the operator has just initialised
    init = run_init(app, "--threshold", "2", "--shares", "3")
    assert len(init.shares) == 3
    recovery_recipient = db_session.scalar(select(InstanceKeys.recovery_recipient))
    assert recovery_recipient is not None
    recovery_secret = combine_recovery_shares(init.shares[:2])
    assert recovery_secret not in init.text, "only the shares are printed, never the key"

    # When the operator enrols as the first admin through the printed URL
    admin = enrol(client, init.setup_path, email="admin@example.org")
    assert admin.fingerprint
    admin_row = db_session.scalar(select(User).where(User.email == "admin@example.org"))
    assert admin_row is not None and admin_row.status is UserStatus.VETTED
    assert "Lawyers you invite will read theirs" in admin.page

    # and invites a lawyer, who enrols and reads out a fingerprint
    invite_path = run_invite(app, "Lawyer@Example.org")
    lawyer_client = app.test_client()
    lawyer_client.environ_base["wsgi.url_scheme"] = "https"
    lawyer = enrol(lawyer_client, invite_path)
    lawyer_row = db_session.scalar(select(User).where(User.email == "lawyer@example.org"))
    assert lawyer_row is not None and lawyer_row.status is UserStatus.PENDING
    assert lawyer.fingerprint == fingerprint(lawyer_row.public_recipient)

    # and the admin logs in, sees the same fingerprint and approves
    inbox = log_in(
        client, "admin@example.org", STRONG_PASSPHRASE, totp_code(admin.totp_secret, admin_row.totp_last_step)
    )
    assert "Inbox" in inbox
    people = client.get("/admin/").get_data(as_text=True)
    assert lawyer.fingerprint in people
    post_form(client, "/admin/", f"/admin/people/{lawyer_row.id}/status/vetted", {})
    db_session.refresh(lawyer_row)
    assert lawyer_row.status is UserStatus.VETTED

    # When somebody submits a request with a file through the public form
    submitter = app.test_client()
    submitter.environ_base["wsgi.url_scheme"] = "https"
    evidence = b"%PDF-1.4 evidence" * 1000
    parts = help_request_parts(
        request_tokens(submitter, "/request"),
        "Мене примусово мобілізували. I need help.",
        [Upload("statement.pdf", evidence, content_type="application/pdf")],
    )
    codename = codename_on(post_parts(submitter, "/request", parts).get_data(as_text=True))
    case_number = db_session.scalar(select(Case.number))
    attachment_id = db_session.scalar(select(Attachment.id))

    # Then the lawyer logs in, finds it unread in the inbox, and reads it
    db_session.refresh(lawyer_row)
    inbox = log_in(
        lawyer_client,
        "lawyer@example.org",
        STRONG_PASSPHRASE,
        totp_code(lawyer.totp_secret, lawyer_row.totp_last_step),
    )
    assert f"#{case_number}" in inbox
    assert 'class="unread"' in inbox
    case_page = lawyer_client.get(f"/lawyer/cases/{case_number}").get_data(as_text=True)
    assert "Мене примусово мобілізували. I need help." in case_page
    assert "statement.pdf" in case_page
    assert 'class="unread"' not in lawyer_client.get("/lawyer/").get_data(as_text=True)

    # and downloads the attachment, decrypted on the fly
    download = lawyer_client.get(f"/lawyer/cases/{case_number}/attachments/{attachment_id}")
    assert download.status_code == 200
    assert download.get_data() == evidence
    assert download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment;")

    # and replies
    page = post_reply(
        lawyer_client,
        f"/lawyer/cases/{case_number}",
        {"reply-message": "We can help. Reply with a safe way to reach you."},
    )
    assert "Reply sent" in unescape(page)

    # Then the submitter, holding only the codename, reads the reply on the return page (any device)
    submitter = app.test_client()
    submitter.environ_base["wsgi.url_scheme"] = "https"
    token = submit_csrf_token(submitter, "/codename")
    response = submitter.post(
        "/codename", data={"csrf_token": token, "codename": codename}, follow_redirects=True
    )
    assert "We can help. Reply with a safe way to reach you." in response.get_data(as_text=True)
    # and the trustees' shares decrypt it too
    reply = db_session.scalar(select(Item).where(Item.kind == ItemKind.REPLY))
    assert reply is not None and reply.visible_to_source
    assert open_item(reply.ciphertext, [recovery_secret]).message.startswith("We can help")
