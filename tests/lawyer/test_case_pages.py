"""Inbox and case pages: metadata without decryption, contents escaped, keys respected."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from config import Config
from crypto import DecryptionError, Identity
from intake.models import AuditEvent, Case, CaseStatus, Item, ItemKind, UserStatus
from intake.services.inbox import INBOX_PAGE_SIZE
from intake.services.items import open_item
from tests.factories import LawyerFixture, create_lawyer
from tests.lawyer.fixtures import NewClient
from tests.lawyer.helpers import log_in, path_of, post_form, post_reply, submit_directly, totp_code, unescape

HOSTILE_MESSAGE = (
    '<script>alert("x")</script><a href="javascript:alert(1)">click</a><img src=x onerror=alert(2)>'
)


def test_hostile_contents_render_as_text(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    submitted = submit_directly(
        db_session, config, HOSTILE_MESSAGE, fields={"<b>name</b>": '"><svg onload=alert(3)>'}
    )
    page = lawyer_client.get(f"/lawyer/cases/{submitted.number}").get_data(as_text=True)
    assert "<script>alert" not in page
    assert 'href="javascript:' not in page
    assert "<img src=x" not in page and "<svg onload" not in page and "<b>name</b>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert HOSTILE_MESSAGE in unescape(page)


def test_answers_show_as_the_form_asked_them_in_the_lawyers_language(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    # Given answers stored as stable choice values
    submitted = submit_directly(
        db_session, config, "text", fields={"help_kind": "desertion", "country": "Казахстан"}
    )
    # Then the case page shows the questions and the chosen labels, translated
    page = unescape(lawyer_client.get(f"/lawyer/cases/{submitted.number}?lang=uk").get_data(as_text=True))
    assert "У якій країні ви зараз перебуваєте?" in page
    assert "Я залишив(-ла) свою частину" in page
    assert "desertion" not in page
    assert "Казахстан" in page


def test_inbox_shows_metadata_and_unread_state(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    first = submit_directly(db_session, config, "one")
    second = submit_directly(db_session, config, "two")
    lawyer_client.get(f"/lawyer/cases/{first.number}")
    page = lawyer_client.get("/lawyer/").get_data(as_text=True)
    assert f'<tr class="unread">\n      <td><a href="/lawyer/cases/{second.number}">' in page
    assert f'<tr class="">\n      <td><a href="/lawyer/cases/{first.number}">' in page
    assert "one" not in page.split("<tbody>")[1]


def test_inbox_filters_and_pages(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, config: Config
) -> None:
    numbers = [
        submit_directly(db_session, config, f"case {i}").number for i in range(INBOX_PAGE_SIZE + 3)
    ]
    closed = db_session.scalar(select(Case).where(Case.number == numbers[0]))
    assert closed is not None
    closed.status = CaseStatus.CLOSED
    mine = db_session.scalar(select(Case).where(Case.number == numbers[1]))
    assert mine is not None
    mine.assignee_id = lawyer.user.id
    db_session.commit()

    first_page = lawyer_client.get("/lawyer/").get_data(as_text=True)
    assert first_page.count('href="/lawyer/cases/') == INBOX_PAGE_SIZE
    assert "Page 1 of 2" in first_page
    second_page = lawyer_client.get("/lawyer/?page=2").get_data(as_text=True)
    assert second_page.count('href="/lawyer/cases/') == 3

    only_closed = lawyer_client.get("/lawyer/?status=closed").get_data(as_text=True)
    assert only_closed.count('href="/lawyer/cases/') == 1 and f'/lawyer/cases/{numbers[0]}"' in only_closed
    assigned = lawyer_client.get(f"/lawyer/?assignee={lawyer.user.id}").get_data(as_text=True)
    assert assigned.count('href="/lawyer/cases/') == 1 and lawyer.user.email in assigned
    nobody = lawyer_client.get("/lawyer/?assignee=nobody").get_data(as_text=True)
    assert "Page 1 of 2" in nobody
    assert "Page 1 of 2" in lawyer_client.get("/lawyer/?status=bogus").get_data(as_text=True)


def test_items_from_before_a_lawyer_joined_say_who_can_read_them(
    db_session: Session, lawyer: LawyerFixture, new_client: NewClient, config: Config
) -> None:
    # Given a case that arrived before a second lawyer was vetted
    submitted = submit_directly(db_session, config, "early request")
    newcomer = create_lawyer(db_session, email="newcomer@example.org")
    client = new_client()
    log_in(client, newcomer.user.email, newcomer.passphrase, totp_code(newcomer.totp_secret, None))
    # Then the newcomer sees that they cannot decrypt it, and who can
    page = client.get(f"/lawyer/cases/{submitted.number}").get_data(as_text=True)
    assert "early request" not in page
    assert "Your key cannot decrypt this item" in page
    assert lawyer.user.email in page and "recovery trustees" in page


def test_reply_reaches_the_submitter_and_note_does_not(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, config: Config, recovery: Identity
) -> None:
    submitted = submit_directly(db_session, config, "request")
    case_path = f"/lawyer/cases/{submitted.number}"
    post_reply(lawyer_client, case_path, {"reply-message": "<b>reply</b> to you"})
    post_form(lawyer_client, case_path, f"{case_path}/note", {"note-message": "internal: check unit 42"})

    items = {item.kind: item for item in db_session.scalars(select(Item).order_by(Item.seq))}
    codename_key = [submitted.codename_identity.secret]
    assert open_item(items[ItemKind.REPLY].ciphertext, codename_key).message == "<b>reply</b> to you"
    with pytest.raises(DecryptionError):
        open_item(items[ItemKind.NOTE].ciphertext, codename_key)
    for item in (items[ItemKind.REPLY], items[ItemKind.NOTE]):
        assert open_item(item.ciphertext, [recovery.secret]).message
        assert [recipient.user_id for recipient in item.recipients] == [lawyer.user.id]
    assert not items[ItemKind.NOTE].visible_to_source

    case = db_session.scalar(select(Case).where(Case.number == submitted.number))
    assert case is not None
    db_session.refresh(case)
    assert (case.item_count, case.activity_seq) == (3, 3)
    page = lawyer_client.get(case_path).get_data(as_text=True)
    assert "&lt;b&gt;reply&lt;/b&gt; to you" in page and "internal: check unit 42" in page
    # The author's own writing does not mark the case unread for them.
    assert 'class="unread"' not in lawyer_client.get("/lawyer/").get_data(as_text=True)


def test_empty_reply_sends_nothing(lawyer_client: FlaskClient, db_session: Session, config: Config) -> None:
    submitted = submit_directly(db_session, config, "request")
    case_path = f"/lawyer/cases/{submitted.number}"
    page = post_reply(lawyer_client, case_path, {"reply-message": ""})
    assert "nothing was sent" in page
    assert len(db_session.scalars(select(Item)).all()) == 1


def test_status_and_assignment(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, config: Config
) -> None:
    submitted = submit_directly(db_session, config, "request")
    suspended = create_lawyer(db_session, email="suspended@example.org", status=UserStatus.SUSPENDED)
    case_path = f"/lawyer/cases/{submitted.number}"
    post_form(lawyer_client, case_path, f"{case_path}/status", {"status": "in_progress"})
    post_form(lawyer_client, case_path, f"{case_path}/assign", {"assignee": str(lawyer.user.id)})
    post_form(lawyer_client, case_path, f"{case_path}/assign", {"assignee": str(suspended.user.id)})
    case = db_session.scalar(select(Case).where(Case.number == submitted.number))
    assert case is not None
    db_session.refresh(case)
    assert case.status is CaseStatus.IN_PROGRESS
    assert case.assignee_id == lawyer.user.id, "only vetted lawyers can be assigned"


def test_audit_records_events_never_contents(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    submitted = submit_directly(db_session, config, "request")
    case_path = f"/lawyer/cases/{submitted.number}"
    post_reply(lawyer_client, case_path, {"reply-message": "very private words"})
    events = db_session.scalars(select(AuditEvent)).all()
    actions = {event.action for event in events}
    assert {"login", "case.viewed", "case.replied"} <= actions
    assert all("private" not in (event.detail or "") for event in events)


def test_unknown_case_is_not_found(lawyer_client: FlaskClient) -> None:
    assert lawyer_client.get("/lawyer/cases/999").status_code == 404


def test_pending_lawyer_gets_no_cases(
    db_session: Session, lawyer: LawyerFixture, new_client: NewClient, config: Config
) -> None:
    # Given a lawyer who enrolled but is not vetted yet
    pending = create_lawyer(db_session, email="pending@example.org", status=UserStatus.PENDING)
    submitted = submit_directly(db_session, config, "request")
    # Then they are not a recipient of new submissions
    item = db_session.scalar(select(Item))
    assert item is not None and pending.user.id not in {r.user_id for r in item.recipients}
    # and may log in only to see their fingerprint
    client = new_client()
    page = log_in(client, pending.user.email, pending.passphrase, totp_code(pending.totp_secret, None))
    assert "Waiting for vetting" in page
    for path in ("/lawyer/", f"/lawyer/cases/{submitted.number}"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].endswith("/lawyer/pending")


def test_staff_pages_need_a_session(client: FlaskClient, lawyer: LawyerFixture) -> None:
    for path in ("/lawyer/", "/lawyer/cases/1", "/lawyer/pending", "/admin/", "/admin/audit"):
        response = client.get(path)
        assert response.status_code == 302 and path_of(response.headers["Location"]) == "/lawyer/login", path


def test_file_sizes_use_the_same_localised_units_as_the_public_pages(
    lawyer_client: FlaskClient, db_session: Session, config: Config
) -> None:
    # Given a file of 1.5 binary megabytes, which the public pages call "1,5 МБ"
    content = b"x" * (3 * 1024 * 1024 // 2)
    submitted = submit_directly(db_session, config, "text", files=[("scan.pdf", "application/pdf", content)])

    # Then the lawyer's case page says the same, in the lawyer's language
    page = unescape(lawyer_client.get(f"/lawyer/cases/{submitted.number}?lang=ru").get_data(as_text=True))
    assert "(1,5 МБ," in page
    page = unescape(lawyer_client.get(f"/lawyer/cases/{submitted.number}?lang=en").get_data(as_text=True))
    assert "(1.5 MB," in page
