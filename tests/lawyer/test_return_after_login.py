"""After a session ends, logging in again leads back to the page the lawyer was on."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import delete
from sqlalchemy.orm import Session

from config import Config
from intake.models import LawyerSession
from intake.staff.return_path import safe_return_path
from tests.factories import LawyerFixture
from tests.lawyer.helpers import allow_totp_again, csrf_token, submit_directly, totp_code

SESSION_ENDED = "Your session ended"


def log_in_from(client: FlaskClient, login_url: str, lawyer: LawyerFixture) -> str:
    """Fill the login form shown at `login_url`; returns where the login sent the browser."""
    page = client.get(login_url).get_data(as_text=True)
    form = {
        "csrf_token": csrf_token(page),
        "email": lawyer.user.email,
        "passphrase": lawyer.passphrase,
        "totp_code": totp_code(lawyer.totp_secret, lawyer.user.totp_last_step),
    }
    next_value = parse_qs(urlsplit(login_url).query).get("next")
    if next_value:
        form["next"] = next_value[0]
    response = client.post("/lawyer/login", data=form)
    assert response.status_code == 302
    return response.headers["Location"]


def test_a_lawyer_whose_session_ended_returns_to_their_case(
    lawyer_client: FlaskClient, lawyer: LawyerFixture, db_session: Session, config: Config
) -> None:
    submitted = submit_directly(db_session, config, "text")
    case_path = f"/lawyer/cases/{submitted.number}?lang=ru"
    lawyer_client.get(case_path)

    # Given the server half of the session is gone (idle timeout, logout elsewhere)
    db_session.execute(delete(LawyerSession))
    db_session.commit()
    refused = lawyer_client.get(case_path)

    # Then the login page says so, in the lawyer's language, and remembers the page
    login_url = refused.headers["Location"]
    assert urlsplit(login_url).path == "/lawyer/login"
    login_page = lawyer_client.get(login_url).get_data(as_text=True)
    assert "Ваш сеанс завершился" in login_page
    assert f'name="next" type="hidden" value="/lawyer/cases/{submitted.number}?lang=ru"' in login_page

    # And logging in again leads back to that case
    allow_totp_again(db_session, lawyer.user.id)
    db_session.refresh(lawyer.user)
    assert log_in_from(lawyer_client, login_url, lawyer) == case_path


def test_a_first_visit_is_not_told_a_session_ended(client: FlaskClient) -> None:
    login_url = client.get("/lawyer/").headers["Location"]
    assert SESSION_ENDED not in client.get(login_url).get_data(as_text=True)


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/lawyer/",
        "//evil.example/lawyer/",
        "/\\evil.example",
        "/lawyer/../\\evil",
        "/request",
        "/lawyer/cases/1\r\nSet-Cookie: x=1",
        "lawyer/cases/1",
    ],
)
def test_only_a_path_on_the_staff_pages_is_followed(
    client: FlaskClient, lawyer: LawyerFixture, target: str
) -> None:
    assert safe_return_path(target) is None
    login_url = "/lawyer/login?" + urlencode({"next": target})
    assert urlsplit(log_in_from(client, login_url, lawyer)).path == "/lawyer/"
