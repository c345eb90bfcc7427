"""`intake init` and `intake invite`: keys made once, shares shown once, URLs one-time."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto import combine_recovery_shares, identity_from_secret
from intake.models import InstanceKeys, Invite, User
from tests.factories import create_lawyer
from tests.lawyer.helpers import enrol, path_of, run_init, run_invite


def recovery_recipient(db_session: Session) -> str | None:
    db_session.expire_all()
    return db_session.scalar(select(InstanceKeys.recovery_recipient))


def test_init_prints_shares_that_rebuild_the_stored_recovery_key(app: Flask, db_session: Session) -> None:
    init = run_init(app)
    assert len(init.shares) == 5
    rebuilt = combine_recovery_shares([init.shares[4], init.shares[0], init.shares[2]])
    assert identity_from_secret(rebuilt).recipient == recovery_recipient(db_session)
    # Only the public half is stored anywhere.
    keys = db_session.scalar(select(InstanceKeys))
    assert keys is not None and keys.admin_setup_token_hash is not None
    assert path_of(init.setup_path).rsplit("/", 1)[1] not in keys.admin_setup_token_hash


def test_init_refuses_to_run_twice_and_keeps_the_keys(app: Flask, db_session: Session) -> None:
    run_init(app)
    before = recovery_recipient(db_session)
    result = app.test_cli_runner().invoke(args=["intake", "init"])
    assert result.exit_code != 0
    assert "already initialised" in result.output
    assert "Share" not in result.output
    assert recovery_recipient(db_session) == before


def test_a_new_setup_token_replaces_the_old_and_keeps_the_keys(
    app: Flask, client: FlaskClient, db_session: Session
) -> None:
    first = run_init(app)
    before = recovery_recipient(db_session)
    second = run_init(app, "--force-new-setup-token")
    assert second.shares == []
    assert recovery_recipient(db_session) == before
    assert client.get(first.setup_path).status_code == 404
    assert client.get(second.setup_path).status_code == 200


def test_no_new_setup_token_once_an_admin_exists(app: Flask, client: FlaskClient) -> None:
    init = run_init(app)
    enrol(client, init.setup_path, email="admin@example.org")
    result = app.test_cli_runner().invoke(args=["intake", "init", "--force-new-setup-token"])
    assert result.exit_code != 0 and "admin account exists" in result.output


def test_the_setup_url_works_once(app: Flask, client: FlaskClient, db_session: Session) -> None:
    init = run_init(app)
    enrol(client, init.setup_path, email="admin@example.org")
    assert client.get(init.setup_path).status_code == 404
    assert db_session.scalar(select(func.count()).select_from(User)) == 1


def test_the_setup_url_expires_after_an_hour(app: Flask, client: FlaskClient, db_session: Session) -> None:
    init = run_init(app)
    keys = db_session.scalar(select(InstanceKeys))
    assert keys is not None and keys.admin_setup_expires_at is not None
    keys.admin_setup_expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db_session.commit()
    assert client.get(init.setup_path).status_code == 404


def test_init_rejects_impossible_thresholds(app: Flask, db_session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["intake", "init", "--threshold", "6", "--shares", "5"])
    assert result.exit_code != 0
    assert recovery_recipient(db_session) is None


def test_init_uses_the_given_base_url(app: Flask) -> None:
    init = run_init(app, "--base-url", "http://abcdefghijklmnop.onion")
    assert "http://abcdefghijklmnop.onion/admin/setup/" in init.text


def test_invite_prints_a_one_time_url_and_stores_only_its_hash(app: Flask, db_session: Session) -> None:
    path = run_invite(app, "Someone@Example.org", role="admin")
    invite = db_session.scalar(select(Invite))
    assert invite is not None
    assert invite.email == "someone@example.org" and invite.role.value == "admin"
    assert path.rsplit("/", 1)[1] not in invite.token_hash


def test_invite_refuses_an_existing_account(app: Flask, db_session: Session) -> None:
    create_lawyer(db_session, email="taken@example.org")
    result = app.test_cli_runner().invoke(args=["intake", "invite", "taken@example.org"])
    assert result.exit_code != 0 and "already exists" in result.output
