"""Vetting: admins compare fingerprints, approve, suspend and revoke."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from crypto import Identity
from intake.models import ChannelKind, NotificationChannel, Role, User, UserStatus
from intake.services.keyring import submission_recipients
from intake.services.notification_addresses import seal_address
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import csrf_token, log_in, path_of, post_form, submit_directly, totp_code, unescape


@pytest.fixture
def admin_client(db_session: Session, recovery: Identity, new_client: NewClient) -> FlaskClient:
    admin = create_lawyer(db_session, email="admin@example.org", role=Role.ADMIN)
    client = new_client()
    log_in(client, admin.user.email, admin.passphrase, totp_code(admin.totp_secret, None))
    return client


def status_of(db_session: Session, user: User) -> UserStatus:
    db_session.expire_all()
    status = db_session.scalar(select(User.status).where(User.id == user.id))
    assert status is not None
    return status


def test_admin_approves_a_pending_lawyer_who_then_receives_submissions(
    admin_client: FlaskClient, db_session: Session
) -> None:
    pending = create_lawyer(db_session, email="pending@example.org", status=UserStatus.PENDING)
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert "pending@example.org" in page
    recipients = submission_recipients(db_session)
    assert recipients is not None and pending.user.id not in recipients.lawyer_ids
    post_form(admin_client, "/admin/", f"/admin/people/{pending.user.id}/status/vetted", {})
    assert status_of(db_session, pending.user) is UserStatus.VETTED
    recipients = submission_recipients(db_session)
    assert recipients is not None and pending.user.id in recipients.lawyer_ids


def test_suspension_lists_cases_only_they_can_read_and_removes_them_as_recipient(
    admin_client: FlaskClient, db_session: Session, config: Config
) -> None:
    # Given a case that arrived while the admin was away (suspended), so one lawyer alone can read it
    lawyer = create_lawyer(db_session, email="solo@example.org")
    admin = db_session.scalar(select(User).where(User.email == "admin@example.org"))
    assert admin is not None
    admin.status = UserStatus.SUSPENDED
    db_session.commit()
    submitted = submit_directly(db_session, config, "only solo can read this")
    admin.status = UserStatus.VETTED
    db_session.commit()
    # When the admin looks at the lawyer
    page = admin_client.get(f"/admin/people/{lawyer.user.id}").get_data(as_text=True)
    # Then the case only they can read is named
    assert f"#{submitted.number}" in page
    # And suspending them stops them being a recipient
    post_form(
        admin_client,
        f"/admin/people/{lawyer.user.id}",
        f"/admin/people/{lawyer.user.id}/status/suspended",
        {},
    )
    assert status_of(db_session, lawyer.user) is UserStatus.SUSPENDED
    recipients = submission_recipients(db_session)
    assert recipients is not None and lawyer.user.id not in recipients.lawyer_ids


def test_a_suspended_lawyer_can_be_reinstated_but_a_revoked_one_cannot(
    admin_client: FlaskClient, db_session: Session
) -> None:
    lawyer = create_lawyer(db_session, email="l@example.org", status=UserStatus.SUSPENDED)
    person_path = f"/admin/people/{lawyer.user.id}"
    post_form(admin_client, person_path, f"{person_path}/status/vetted", {})
    assert status_of(db_session, lawyer.user) is UserStatus.VETTED
    post_form(admin_client, person_path, f"{person_path}/status/revoked", {})
    page = post_form(admin_client, person_path, f"{person_path}/status/vetted", {})
    assert "not possible" in unescape(page)
    assert status_of(db_session, lawyer.user) is UserStatus.REVOKED


def test_an_admin_cannot_lock_themselves_out(admin_client: FlaskClient, db_session: Session) -> None:
    admin = db_session.scalar(select(User).where(User.email == "admin@example.org"))
    assert admin is not None
    post_form(admin_client, f"/admin/people/{admin.id}", f"/admin/people/{admin.id}/status/revoked", {})
    assert status_of(db_session, admin) is UserStatus.VETTED


def test_status_changes_need_a_csrf_token(admin_client: FlaskClient, db_session: Session) -> None:
    lawyer = create_lawyer(db_session, email="l@example.org", status=UserStatus.PENDING)
    response = admin_client.post(f"/admin/people/{lawyer.user.id}/status/vetted")
    assert response.status_code == 400
    assert status_of(db_session, lawyer.user) is UserStatus.PENDING


def test_admin_invites_from_the_web(
    admin_client: FlaskClient, new_client: NewClient, db_session: Session
) -> None:
    page = post_form(
        admin_client, "/admin/", "/admin/invites", {"email": "web@example.org", "role": "lawyer"}
    )
    url = page.split('id="invite-url">')[1].split("<")[0]
    assert "/lawyer/enrol/" in url
    assert new_client().get(path_of(url)).status_code == 200


def test_lawyers_cannot_use_admin_pages(lawyer_client: FlaskClient, lawyer: LawyerFixture) -> None:
    assert lawyer_client.get("/admin/").status_code == 403
    page = lawyer_client.get("/lawyer/").get_data(as_text=True)
    token = csrf_token(page)
    response = lawyer_client.post(
        f"/admin/people/{lawyer.user.id}/status/revoked", data={"csrf_token": token}
    )
    assert response.status_code == 403


def test_audit_log_is_visible_to_admins(admin_client: FlaskClient) -> None:
    page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "Logged in" in page


def test_revoking_deletes_the_lawyers_notification_addresses_and_suspending_keeps_them(
    admin_client: FlaskClient, db_session: Session, config: Config
) -> None:
    suspended = create_lawyer(db_session, email="suspended@example.org")
    revoked = create_lawyer(db_session, email="revoked@example.org")
    for lawyer in (suspended, revoked):
        db_session.add(
            NotificationChannel(
                user_id=lawyer.user.id,
                kind=ChannelKind.SIGNAL,
                address_sealed=seal_address(
                    config.secret_key, lawyer.user.id, ChannelKind.SIGNAL, "+380501234567"
                ),
            )
        )
    db_session.commit()
    for lawyer, status in ((suspended, "suspended"), (revoked, "revoked")):
        post_form(
            admin_client,
            f"/admin/people/{lawyer.user.id}",
            f"/admin/people/{lawyer.user.id}/status/{status}",
            {},
        )
    db_session.expire_all()
    assert db_session.scalars(select(NotificationChannel.user_id)).all() == [suspended.user.id]
