"""Codename derivations (64 MiB of Argon2id each in production) wait for a slot.

Each gunicorn worker runs many threads; without a bound, every thread could
hold its own 64 MiB buffer at once and a burst of submissions would take
gigabytes. No timing here: a derivation must simply not finish while every
slot is taken, and must finish once one is free.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack

from flask import Flask

from config import Config
from crypto import FAST_TEST_KDF, generate_codename
from intake.db import session_factory
from intake.services.derivation_slots import MAX_CONCURRENT_DERIVATIONS, derivation_slot, derive_codename_keys
from intake.services.keyring import instance_keys
from intake.services.sources import find_source


def test_a_derivation_waits_while_every_slot_is_taken() -> None:
    results: list[object] = []
    worker = threading.Thread(
        target=lambda: results.append(derive_codename_keys(generate_codename(), b"s" * 32, FAST_TEST_KDF))
    )
    with ExitStack() as slots:
        for _ in range(MAX_CONCURRENT_DERIVATIONS):
            slots.enter_context(derivation_slot())
        worker.start()
        worker.join(0.5)
        assert worker.is_alive() and not results
    worker.join(30)
    assert len(results) == 1


def test_codename_logins_take_a_slot(app: Flask, config: Config) -> None:
    with session_factory(app)() as session:
        instance_keys(session)
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
