"""Version 1 codename derivations (64 MiB of Argon2id each in production) wait for a slot.

Each gunicorn worker runs many threads; without a bound, every thread could
hold its own 64 MiB buffer at once and a burst of logins would take
gigabytes. No timing here: a derivation must simply not finish while every
slot is taken, and must finish once one is free. Version 2 (2 MiB) never
waits, so new submissions do not queue behind a login.
"""

from __future__ import annotations

import datetime as dt
import threading
from contextlib import ExitStack

from flask import Flask

from config import Config
from crypto import CODENAME_KDF, FAST_TEST_KDF, CodenameVersion, generate_codename
from intake.db import session_factory
from intake.models import Source
from intake.services.derivation_slots import MAX_CONCURRENT_DERIVATIONS, derivation_slot, derive_codename_keys
from intake.services.keyring import instance_keys
from intake.services.sources import find_source


def test_a_derivation_waits_while_every_slot_is_taken() -> None:
    results: list[object] = []
    worker = threading.Thread(
        target=lambda: results.append(
            derive_codename_keys(generate_codename(), b"s" * 32, CodenameVersion.V1, FAST_TEST_KDF)
        )
    )
    with ExitStack() as slots:
        for _ in range(MAX_CONCURRENT_DERIVATIONS):
            slots.enter_context(derivation_slot())
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and not results
    worker.join(30)
    assert len(results) == 1


def test_a_version_2_derivation_takes_no_slot() -> None:
    with ExitStack() as slots:
        for _ in range(MAX_CONCURRENT_DERIVATIONS):
            slots.enter_context(derivation_slot())
        keys = derive_codename_keys(
            generate_codename(), b"s" * 32, CodenameVersion.V2, CODENAME_KDF[CodenameVersion.V2]
        )
    assert keys.version is CodenameVersion.V2


def test_codename_logins_take_a_slot_while_version_1_sources_remain(app: Flask, config: Config) -> None:
    with session_factory(app)() as session:
        instance_keys(session)
        session.add(
            Source(
                codename_lookup_id="0" * 64,
                codename_version=CodenameVersion.V1,
                reply_recipient="age1x",
                created_day=dt.date(2026, 1, 1),
            )
        )
        session.commit()
    answers: list[object] = []

    def log_in() -> None:
        with session_factory(app)() as session:
            answers.append(find_source(session, config, generate_codename()))

    worker = threading.Thread(target=log_in)
    with ExitStack() as slots:
        for _ in range(MAX_CONCURRENT_DERIVATIONS):
            slots.enter_context(derivation_slot())
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and not answers
    worker.join(30)
    assert answers == [None]
