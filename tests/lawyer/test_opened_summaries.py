"""Summaries opened for the inbox stay in this process's memory, for the key that opened them only."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from config import Config
from crypto import generate_identity
from intake.services.opened_summaries import HEAD_BYTES, OPENED_SUMMARIES, OpenedSummaries
from intake.services.summaries import SummaryPayload, seal_summary
from tests.factories import LawyerFixture
from tests.lawyer.helpers import csrf_token
from tests.lawyer.test_inbox_triage import inbox_numbers, with_summary

URGENT = SummaryPayload("desertion", "danger_now", "Грузия", "ru")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_only_the_key_that_opened_a_summary_finds_it_again() -> None:
    owner, colleague = generate_identity(), generate_identity()
    ciphertext = seal_summary(URGENT, [owner.recipient])
    opened = OpenedSummaries()
    assert opened.open_many(owner, [(1, ciphertext)])[1] == URGENT
    # The colleague's key cannot open it, and the owner's entry does not answer for them
    assert opened.open_many(colleague, [(1, ciphertext)])[1] is None
    assert opened.open_many(owner, [(1, ciphertext)])[1] == URGENT
    assert len(opened) == 2
    # Known again by the head of its ciphertext alone, and by nobody else's key
    assert opened.known(owner, [(1, ciphertext[:HEAD_BYTES])]) == {1: URGENT}
    assert opened.known(generate_identity(), [(1, ciphertext[:HEAD_BYTES])]) == {}
    # The head is known for this case only: the same bytes on another case are not found
    assert opened.known(owner, [(2, ciphertext[:HEAD_BYTES]), (3, None)]) == {3: None}


def test_a_resealed_summary_is_opened_afresh() -> None:
    owner = generate_identity()
    opened = OpenedSummaries()
    assert opened.open_many(owner, [(1, seal_summary(URGENT, [owner.recipient]))])[1] == URGENT
    calm = SummaryPayload("desertion", "weeks", "Грузия", "ru")
    assert opened.open_many(owner, [(1, seal_summary(calm, [owner.recipient]))])[1] == calm


def test_entries_go_when_unused_for_the_idle_time_and_beyond_the_size_bound() -> None:
    owner = generate_identity()
    clock = Clock()
    opened = OpenedSummaries(max_entries=3, idle_seconds=60, clock=clock)
    ciphertexts = [seal_summary(URGENT, [owner.recipient]) for _ in range(4)]
    for ciphertext in ciphertexts:
        opened.open_many(owner, [(1, ciphertext)])
    assert len(opened) == 3
    clock.now += 61
    opened.open_many(owner, [(1, ciphertexts[0])])
    # Everything else was idle too long: only the entry just opened is left
    assert len(opened) == 1


def test_forget_drops_every_entry_of_that_key_and_no_other() -> None:
    owner, colleague = generate_identity(), generate_identity()
    opened = OpenedSummaries()
    opened.open_many(owner, [(1, seal_summary(URGENT, [owner.recipient, colleague.recipient]))])
    opened.open_many(colleague, [(1, seal_summary(URGENT, [owner.recipient, colleague.recipient]))])
    opened.forget(owner)
    assert len(opened) == 1


def test_logging_out_forgets_what_the_lawyers_key_opened(
    lawyer_client: FlaskClient, db_session: Session, config: Config, lawyer: LawyerFixture
) -> None:
    number = with_summary(db_session, config, URGENT)
    OPENED_SUMMARIES.forget(lawyer.identity)
    assert inbox_numbers(lawyer_client.get("/lawyer/").get_data(as_text=True)) == [number]
    before_logout = len(OPENED_SUMMARIES)
    assert before_logout >= 1

    token = csrf_token(lawyer_client.get("/lawyer/").get_data(as_text=True))
    lawyer_client.post("/lawyer/logout", data={"csrf_token": token})

    assert len(OPENED_SUMMARIES) == before_logout - 1
