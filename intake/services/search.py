"""Search across what the unlocked lawyer can read, decrypted for this request only.

There is no index: an index of plaintext words would be plaintext at rest.
Each search opens the summaries and items (messages, answers, filenames) of
cases this lawyer's key can read, most recently active first, and stops
after MAX_CASES_SCANNED cases or MAX_HITS matching cases. The query itself is
never logged or stored (the form posts it, so it is not in any URL either).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto import DecryptionError, Identity
from intake.models import Case, CaseStatus, CaseSummary, Item, ItemRecipient, User
from intake.services import audit
from intake.services.items import ItemPayload, open_item
from intake.services.summaries import SummaryPayload, open_summary

MAX_QUERY_CHARS = 200
MIN_QUERY_CHARS = 2
MAX_CASES_SCANNED = 2000
MAX_HITS = 50
# Cases whose items are fetched in one query.
ITEM_BATCH = 100
SNIPPET_CONTEXT_CHARS = 60


@dataclass(frozen=True)
class SearchHit:
    number: int
    status: CaseStatus
    last_activity_day: dt.date
    snippet: str


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    cases_scanned: int
    # True when the scan stopped at MAX_CASES_SCANNED or MAX_HITS before the oldest case.
    incomplete: bool


def normalise_query(text: str) -> str:
    return " ".join(text.split()).casefold()


def search(session: Session, viewer: User, identity: Identity, query: str) -> SearchResult:
    """Cases whose summary or readable items contain `query` (case-insensitive)."""
    needle = normalise_query(query)
    cases = _readable_cases(session, viewer)
    hits: list[SearchHit] = []
    scanned = 0
    limit = min(len(cases), MAX_CASES_SCANNED)
    for start in range(0, limit, ITEM_BATCH):
        batch = cases[start : min(start + ITEM_BATCH, limit)]
        items = _readable_items(session, viewer, [case.id for case, _summary in batch])
        for case, summary_ciphertext in batch:
            if len(hits) == MAX_HITS:
                break
            scanned += 1
            snippet = _match(identity, summary_ciphertext, items.get(case.id, []), needle)
            if snippet is not None:
                hits.append(SearchHit(case.number, case.status, case.last_activity_day, snippet))
        if len(hits) == MAX_HITS:
            break
    audit.record(session, "search", actor=viewer)
    session.commit()
    return SearchResult(hits=hits, cases_scanned=scanned, incomplete=scanned < len(cases))


def _readable_cases(session: Session, viewer: User) -> list[tuple[Case, bytes | None]]:
    """One more than can be scanned, so the caller knows whether the scan was cut short."""
    readable = select(Item.case_id).join(ItemRecipient).where(ItemRecipient.user_id == viewer.id)
    query = (
        select(Case, CaseSummary.ciphertext)
        .outerjoin(CaseSummary, CaseSummary.case_id == Case.id)
        .where(Case.id.in_(readable))
        .order_by(Case.last_activity_day.desc(), Case.number.desc())
        .limit(MAX_CASES_SCANNED + 1)
    )
    return [(case, ciphertext) for case, ciphertext in session.execute(query)]


def _readable_items(
    session: Session, viewer: User, case_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[bytes]]:
    """The ciphertexts of the viewer's readable items in these cases, in order, in one query."""
    query = (
        select(Item.case_id, Item.ciphertext)
        .join(ItemRecipient)
        .where(Item.case_id.in_(case_ids), ItemRecipient.user_id == viewer.id)
        .order_by(Item.case_id, Item.seq)
    )
    items: dict[uuid.UUID, list[bytes]] = {}
    for case_id, ciphertext in session.execute(query):
        items.setdefault(case_id, []).append(ciphertext)
    return items


def _match(
    identity: Identity, summary_ciphertext: bytes | None, item_ciphertexts: list[bytes], needle: str
) -> str | None:
    summary = open_summary(summary_ciphertext, [identity.secret])
    for text in _summary_texts(summary):
        if (snippet := _snippet(text, needle)) is not None:
            return snippet
    for ciphertext in item_ciphertexts:
        try:
            payload = open_item(ciphertext, [identity.secret])
        except DecryptionError:
            continue
        for text in _item_texts(payload):
            if (snippet := _snippet(text, needle)) is not None:
                return snippet
    return None


def _summary_texts(summary: SummaryPayload | None) -> list[str]:
    return [summary.country] if summary else []


def _item_texts(payload: ItemPayload) -> Iterator[str]:
    yield payload.message
    yield from payload.fields.values()
    for attachment in payload.attachments:
        yield attachment.filename


def _snippet(text: str, needle: str) -> str | None:
    """The match with some context, or None. Case-insensitive; whitespace runs count as one space."""
    flat = " ".join(text.split())
    position = flat.casefold().find(needle)
    if position < 0:
        return None
    start = max(0, position - SNIPPET_CONTEXT_CHARS)
    end = min(len(flat), position + len(needle) + SNIPPET_CONTEXT_CHARS)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
