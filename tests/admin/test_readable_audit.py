"""The audit log reads as sentences in the admin's language, and approvals confirm themselves."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config
from crypto import Identity
from intake.models import Role, UserStatus
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import log_in, post_form, submit_directly, totp_code, unescape


@pytest.fixture
def admin(db_session: Session, recovery: Identity) -> LawyerFixture:
    return create_lawyer(db_session, email="admin@example.org", role=Role.ADMIN)


@pytest.fixture
def admin_client(admin: LawyerFixture, new_client: NewClient) -> FlaskClient:
    client = new_client()
    log_in(client, admin.user.email, admin.passphrase, totp_code(admin.totp_secret, None))
    return client


def test_approving_a_lawyer_says_so(admin_client: FlaskClient, db_session: Session) -> None:
    pending = create_lawyer(db_session, email="pending@example.org", status=UserStatus.PENDING)
    person_page = f"/admin/people/{pending.user.id}"
    page = unescape(post_form(admin_client, person_page, f"{person_page}/status/vetted", {}))
    assert "pending@example.org is approved: new requests are encrypted to their key from now on." in page
    page = unescape(post_form(admin_client, person_page, f"{person_page}/status/suspended", {}))
    assert "pending@example.org is suspended and can no longer log in." in page


def test_the_audit_log_names_events_statuses_and_people(
    admin_client: FlaskClient, admin: LawyerFixture, db_session: Session, config: Config
) -> None:
    colleague = create_lawyer(db_session, email="colleague@example.org")
    submitted = submit_directly(db_session, config, "text")
    case_path = f"/lawyer/cases/{submitted.number}"
    post_form(admin_client, case_path, f"{case_path}/status", {"status": "in_progress"})
    post_form(admin_client, case_path, f"{case_path}/assign", {"assignee": str(colleague.user.id)})

    page = unescape(admin_client.get("/admin/audit?lang=ru").get_data(as_text=True))
    rows = page.split("<tbody>")[1]
    assert "Статус дела изменён" in rows and "В работе" in rows
    assert "Дело назначено" in rows and "colleague@example.org" in rows
    assert "Вход в систему" in rows
    assert str(colleague.user.id) not in rows
    assert "case.status" not in rows and "in_progress" not in rows
