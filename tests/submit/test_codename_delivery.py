"""The codename reaches the submitter whatever the network does: it is on the form before
anything is sent, a repeated form stores nothing twice, and the receipt has them type it back."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from crypto import normalise_codename
from tests.submit.helpers import NOTHING_STORED, ReadersFixture, stored_state
from tests.submit.multipart import (
    Text,
    Upload,
    codename_on,
    csrf_token,
    help_request_parts,
    post_parts,
    request_tokens,
)
from tests.submit.test_returning_submitter import log_in


def fresh_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    return client


def test_the_form_shows_a_fresh_codename_before_anything_is_sent(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    first = request_tokens(client, "/request?lang=ru")
    again = request_tokens(client, "/request?lang=ru")
    other_visitor = request_tokens(fresh_client(app), "/request?lang=ru")

    assert normalise_codename(first.codename) == first.codename
    assert len({first.codename, again.codename, other_visitor.codename}) == 3
    # The hidden field carries it sealed, never readable as the words
    for word in first.codename.split():
        assert word not in first.form_codename
    assert stored_state(app) == NOTHING_STORED


def test_the_receipt_shows_the_codename_the_form_showed(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    receipt = post_parts(client, "/request", help_request_parts(tokens))
    assert receipt.status_code == 200
    assert codename_on(receipt.get_data(as_text=True)) == tokens.codename


def test_a_form_sent_again_stores_one_case_and_shows_the_same_receipt(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    # Given a request with a file, sent once
    tokens = request_tokens(client, "/request?lang=ru")
    parts = help_request_parts(tokens, files=[Upload("повестка.jpg", b"\xff\xd8 scan" * 100)])
    first = post_parts(client, "/request", parts)
    assert first.status_code == 200
    stored_once = stored_state(app)

    # When the browser sends the same form again (reload, double click, retry)
    again = post_parts(client, "/request", parts)

    # Then the receipt is the same and nothing more is stored, not even the file
    assert again.status_code == 200
    assert codename_on(again.get_data(as_text=True)) == tokens.codename
    assert stored_state(app) == stored_once
    assert (stored_once.cases, stored_once.attachments, len(stored_once.blob_files)) == (1, 1, 1)


def test_a_submitter_whose_receipt_never_arrived_reaches_their_case_with_the_codename_from_the_form(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    # Given the codename read off the form, and a response lost on the way back
    tokens = request_tokens(client, "/request?lang=ru")
    post_parts(client, "/request", help_request_parts(tokens))

    # When they come back from another browser with what they held
    page = log_in(fresh_client(app), tokens.codename)

    # Then their case is there
    assert "<h1>Ваше дело</h1>" in page


def test_a_form_without_its_sealed_codename_stores_nothing(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    bare = help_request_parts(tokens.csrf, files=[Upload("a.txt", b"x")])
    forged = [
        Text("csrf_token", tokens.csrf),
        Text("form_codename", tokens.form_codename[:-6] + "AAAAAA"),
        *bare[1:],
    ]
    for parts in (bare, forged):
        response = post_parts(client, "/request", parts)
        assert response.status_code == 400
        assert "Срок действия формы истёк" in response.get_data(as_text=True)
    assert stored_state(app) == NOTHING_STORED


def receipt_check_form(page: str) -> dict[str, str]:
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    sealed = re.search(r'name="form_codename" type="hidden" value="([^"]+)"', page)
    assert csrf and sealed, "the receipt has no codename check"
    return {"csrf_token": csrf.group(1), "form_codename": sealed.group(1)}


def test_the_receipt_has_the_submitter_type_the_codename_back_once(
    app: Flask, client: FlaskClient, readers: ReadersFixture
) -> None:
    tokens = request_tokens(client, "/request?lang=ru")
    receipt = post_parts(client, "/request", help_request_parts(tokens)).get_data(as_text=True)
    fields = receipt_check_form(receipt)

    # A word wrong: told so, with the codename shown again to compare
    words = tokens.codename.split()
    wrong = " ".join([*words[:-1], "zebra" if words[-1] != "zebra" else "apple"])
    retry = client.post("/request/codename-check", data={**fields, "typed_codename": wrong})
    assert retry.status_code == 400
    page = retry.get_data(as_text=True)
    assert "Это не та же кодовая фраза" in page
    assert codename_on(page) == tokens.codename
    assert wrong not in page

    # Typed back right (spacing and case as a phone makes them): confirmed
    typed = "  " + tokens.codename.upper().replace(" ", " - ") + " "
    done = client.post("/request/codename-check", data={**receipt_check_form(page), "typed_codename": typed})
    assert done.status_code == 200
    assert "Кодовая фраза у вас" in done.get_data(as_text=True)
    assert tokens.codename not in done.get_data(as_text=True)


def test_the_codename_check_refuses_a_forged_codename(app: Flask, client: FlaskClient) -> None:
    token = csrf_token(client, "/codename")
    response = client.post(
        "/request/codename-check",
        data={"csrf_token": token, "form_codename": "bm90IG91cnM=", "typed_codename": "a b c d e f g"},
    )
    assert response.status_code == 400
