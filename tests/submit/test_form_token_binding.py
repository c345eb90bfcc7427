"""The form's sealed codename works only in the browser session it was drawn for.

A sealed codename lifted from one browser (a shared computer's history, a
proxy's log, a shoulder) and posted from another must neither show that
codename nor store anything under it. A submitter whose own session ended
while they wrote loses nothing they typed: the form comes back with every
answer and a new codename, which the page says, and names each file to choose
again (files are stored only behind valid tokens).
"""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.codename import RUSSIAN
from intake.models import Case
from tests.submit.helpers import (
    NOTHING_STORED,
    ReadersFixture,
    decrypt_attachment,
    decrypt_item,
    stored_state,
)
from tests.submit.multipart import (
    Text,
    Upload,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    request_tokens,
    request_tokens_on,
)
from tests.submit.test_codename_delivery import fresh_client

MESSAGE = "Муж скрывается от мобилизации, ему пришла повестка."
EXPIRED = "Срок действия формы истёк"
NEW_CODENAME = "Ваша кодовая фраза сменилась"


def test_a_sealed_codename_lifted_into_another_browser_shows_and_stores_nothing(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    victim = request_tokens(client, "/request?lang=ru")
    thief = fresh_client(app)
    thief_token = csrf_token(thief, "/request?lang=ru")

    # The receipt's codename check would show the codename it carries
    check = thief.post(
        "/request/codename-check",
        data={"csrf_token": thief_token, "form_codename": victim.form_codename, "typed_codename": "x"},
    )
    assert check.status_code == 400
    assert victim.codename not in check.get_data(as_text=True)

    # A request sent with it is not stored under the victim's codename
    lifted = [Text("csrf_token", thief_token), Text("form_codename", victim.form_codename)]
    response = post_parts(thief, "/request?lang=ru", [*lifted, *help_request_parts(thief_token, MESSAGE)[1:]])
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert victim.codename not in page
    assert stored_state(app) == NOTHING_STORED

    # And the victim's own form still works
    receipt = post_parts(client, "/request?lang=ru", help_request_parts(victim, MESSAGE))
    assert receipt.status_code == 200
    assert codename_on(receipt.get_data(as_text=True)) == victim.codename


def test_a_submitter_whose_session_ended_mid_form_gets_the_form_back_with_a_new_codename(
    app: Flask, db_session: Session, readers: ReadersFixture
) -> None:
    # Given a form opened in a browser session that ends before it is sent (cookies cleared)
    first_session = fresh_client(app)
    old = request_tokens(first_session, "/request?lang=ru")
    later = fresh_client(app)
    statement = Upload("заявление.pdf", b"%PDF the statement " * 40)

    # When it is sent
    parts = help_request_parts(old, MESSAGE, files=[statement])
    parts.insert(2, Text("form_language", "ru"))
    response = post_parts(later, "/request", parts)

    # Then nothing is stored, and the form comes back saying so, with the text kept
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert EXPIRED in page
    assert NEW_CODENAME in page
    assert f"{MESSAGE}</textarea>" in page
    assert "«заявление.pdf» не сохранён, потому что срок действия формы истёк" in page
    assert stored_state(app) == NOTHING_STORED
    # under a new codename that the page shows, in the form's language though the session forgot it
    fresh = request_tokens_on(page)
    assert fresh.codename != old.codename
    assert set(fresh.codename.split()) <= set(RUSSIAN.words)

    # When the form that came back is sent, the file chosen again
    sent = post_parts(later, "/request", help_request_parts(fresh, MESSAGE, files=[statement]))

    # Then the request is stored whole under the new codename
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert codename_on(sent.get_data(as_text=True)) == fresh.codename
    case = db_session.scalars(select(Case)).one()
    assert decrypt_item(case.items[0], readers.lawyer.identity).message == MESSAGE
    assert decrypt_attachment(app, case.items[0].attachments[0], readers.lawyer.identity) == statement.content
