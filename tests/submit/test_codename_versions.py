"""Codename derivation versions: new codenames are version 2, version 1 codenames keep working.

Version 1 (64 MiB of Argon2id) made every codename issued before version 2;
those sources are rows like the one `_as_issued_under_version_1` leaves. A
login tries version 2 first and version 1 only while such a source remains,
so a wrong codename pays for both, exactly like a version 1 codename.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import CodenameKeys, CodenameVersion, derive_codename_keys, generate_codename
from crypto.codename import RUSSIAN
from intake.models import Source
from intake.services import sources
from intake.services.keyring import codename_kdf, instance_keys
from tests.submit.helpers import ReadersFixture, add_reply
from tests.submit.multipart import csrf_token
from tests.submit.test_returning_submitter import log_in, submit

WRONG_CODENAME = "abacus abdomen abdominal abide abiding ability ablaze"


def _derive(app: Flask, session: Session, codename: str, version: CodenameVersion) -> CodenameKeys:
    """What the derivation of `version` makes of `codename` on this instance, straight from crypto."""
    salt = instance_keys(session).codename_salt
    return derive_codename_keys(codename, salt, version, codename_kdf(app.config["INTAKE"], version))


def _as_issued_under_version_1(app: Flask, session: Session) -> str:
    """Turns the only source into what the code before version 2 stored, and returns its codename."""
    codename = generate_codename(RUSSIAN)
    keys = _derive(app, session, codename, CodenameVersion.V1)
    source = session.scalars(select(Source)).one()
    source.codename_lookup_id = keys.lookup_id
    source.reply_recipient = keys.identity.recipient
    source.codename_version = CodenameVersion.V1
    session.commit()
    return codename


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[CodenameVersion]:
    """The versions a codename login derives, in order; each derivation still runs."""
    seen: list[CodenameVersion] = []
    real: Callable[..., CodenameKeys] = sources.derive_codename_keys

    def counted(codename: str, salt: bytes, version: CodenameVersion, params: object) -> CodenameKeys:
        seen.append(version)
        return real(codename, salt, version, params)

    monkeypatch.setattr(sources, "derive_codename_keys", counted)
    return seen


def test_new_codenames_are_version_2_and_their_lookup_ids_are_not_version_1s(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture
) -> None:
    codename = submit(client)
    source = db_session.scalars(select(Source)).one()
    v1 = _derive(app, db_session, codename, CodenameVersion.V1)
    v2 = _derive(app, db_session, codename, CodenameVersion.V2)
    assert source.codename_version == CodenameVersion.V2
    assert (source.codename_lookup_id, source.reply_recipient) == (v2.lookup_id, v2.identity.recipient)
    assert v1.lookup_id != v2.lookup_id
    assert v1.identity.recipient != v2.identity.recipient


def test_a_version_1_codename_still_logs_in_and_reads_its_replies(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture, derivations: list[CodenameVersion]
) -> None:
    # Given a case whose codename was issued under version 1, and a reply encrypted to its key
    submit(client)
    codename = _as_issued_under_version_1(app, db_session)
    add_reply(app, db_session, readers, "Ответ на старую кодовую фразу.", {"ответ.txt": b"old key"})

    # When the submitter comes back with it in a fresh browser
    returning = app.test_client()
    returning.environ_base["wsgi.url_scheme"] = "https"
    page = log_in(returning, codename)

    # Then version 2 found nothing, version 1 found the case, and the reply and its file open
    assert derivations == [CodenameVersion.V2, CodenameVersion.V1]
    assert "Ответ на старую кодовую фразу." in page
    assert "ответ.txt" in page
    assert returning.get("/replies").status_code == 200
    assert db_session.scalars(select(Source)).one().codename_version == CodenameVersion.V1


def test_a_version_2_codename_logs_in_with_one_cheap_derivation(
    client: FlaskClient, readers: ReadersFixture, derivations: list[CodenameVersion]
) -> None:
    codename = submit(client)
    assert "Ответов пока нет" in log_in(client, codename)
    assert derivations == [CodenameVersion.V2]


def test_a_wrong_codename_costs_what_a_version_1_codename_costs_while_one_remains(
    app: Flask, client: FlaskClient, db_session: Session, readers: ReadersFixture, derivations: list[CodenameVersion]
) -> None:
    # Given a version 1 source
    submit(client)
    _as_issued_under_version_1(app, db_session)

    # When a codename nobody holds is typed
    token = csrf_token(client, "/codename?lang=ru")
    response = client.post("/codename", data={"csrf_token": token, "codename": WRONG_CODENAME})

    # Then it is refused after both derivations, as a version 1 codename is found after both
    assert response.status_code == 400
    assert derivations == [CodenameVersion.V2, CodenameVersion.V1]


def test_once_no_version_1_source_remains_a_wrong_codename_costs_one_cheap_derivation(
    app: Flask, db_session: Session, readers: ReadersFixture, derivations: list[CodenameVersion]
) -> None:
    instance_keys(db_session)
    db_session.commit()
    assert sources.find_source(db_session, app.config["INTAKE"], WRONG_CODENAME) is None
    assert derivations == [CodenameVersion.V2]
