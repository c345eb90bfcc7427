"""Retention: closed cases are deleted a configured number of days after their last activity.

What goes: the case, its items (messages, replies, notes), their recipient
lists and attachment rows, the lawyers' read markers, the source (a source
has exactly one case, so its codename stops working) and the attachment
files. What stays: audit events, which name the case number and days but
never contents.

Deleting an attachment file crypto-shreds it: the file key exists only in
the file's own age header, so no row or other file can decrypt it again.
Item ciphertext lives in the database; on SQLite `secure_delete` (set in
`intake.db`) zeroes the deleted rows and a truncating WAL checkpoint drops
the old page images. PostgreSQL keeps dead tuples until VACUUM reuses their
space, and its WAL archive and backups keep (cipher)text for as long as they
are kept: docs/operators.md says what operators must do about that.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, delete, select, text
from sqlalchemy.orm import Session

from intake.models import Attachment, Case, CaseStatus, CaseTally, Item, Source
from intake.services import audit
from intake.services.blobstore import BlobStore

# Bounds the id lists bound into one statement (SQLite allows 32766
# parameters) and the time one transaction holds its locks.
PURGE_BATCH_SIZE = 200


@dataclass(frozen=True)
class PurgeReport:
    cases: int
    attachment_files: int
    # SQLite only: a reader still held old WAL frames, so page images of the
    # deleted rows may stay in the -wal file until a later checkpoint.
    sqlite_wal_busy: bool = False


def retention_cutoff(today: dt.date, retention_days: int) -> dt.date:
    """Closed cases last active before this day are expired; on the day itself they are kept."""
    return today - dt.timedelta(days=retention_days)


def purge_expired_cases(
    session: Session, store: BlobStore, retention_days: int, today: dt.date
) -> PurgeReport:
    """Delete closed cases last active before `retention_cutoff`, rows first, then their files."""
    expired = _expired(retention_cutoff(today, retention_days))
    cases_deleted = 0
    files_deleted = 0
    while True:
        # Locked now, before their tally rows (_lock_closed_tallies), as a lawyer's
        # move of one case takes its row first and its tallies after.
        candidate_ids = list(
            session.scalars(
                select(Case.id).where(expired).order_by(Case.number).limit(PURGE_BATCH_SIZE).with_for_update()
            )
        )
        if not candidate_ids:
            break
        blobs_by_case = _blob_names_by_case(session, candidate_ids)
        _lock_closed_tallies(session)
        # The delete repeats the expiry condition: a case reopened, or given a
        # new item, since the select above no longer matches and is kept.
        # It is the transaction's first write, so on SQLite it also takes the
        # write lock; on PostgreSQL the select's lock already waited for and
        # re-checked rows that a concurrent writer held.
        deleted = session.execute(
            delete(Case).where(Case.id.in_(candidate_ids), expired).returning(Case.id, Case.source_id)
        ).all()
        # Items, their recipients and attachment rows, and case reads go with
        # the case through the schema's ON DELETE CASCADE (SQLite enforces it
        # because intake.db turns foreign_keys on). The source is the case's
        # parent, so it is deleted explicitly.
        if deleted:
            session.execute(delete(Source).where(Source.id.in_([source_id for _, source_id in deleted])))
            audit.record(session, "retention.purged", detail=_cases_phrase(len(deleted)))
        # Rows are committed before files are deleted: a crash in between
        # leaves only unreferenced ciphertext, which the orphan sweep removes.
        # The reverse order could leave rows pointing at missing files, i.e.
        # a case that looks intact but whose attachments fail to open.
        session.commit()
        for case_id, _ in deleted:
            for blob_name in blobs_by_case.get(case_id, []):
                store.delete(blob_name)
                files_deleted += 1
        cases_deleted += len(deleted)
    sqlite_wal_busy = _truncate_sqlite_wal(session) if cases_deleted else False
    return PurgeReport(cases=cases_deleted, attachment_files=files_deleted, sqlite_wal_busy=sqlite_wal_busy)


def _lock_closed_tallies(session: Session) -> None:
    """Take the closed cases' tally rows now, in the order a single move takes its two.

    The delete's trigger lowers one row per case, in the order it meets the
    cases. A lawyer's move of a closed case (reassigning it, reopening it)
    takes its two rows in (status, assignee) order. Met in another order, each
    could hold the row the other waits for, and PostgreSQL would abort one of
    them (tests/test_retention.py). SQLite has no row locks: its writers take
    turns (intake.write_turns).
    """
    session.execute(
        select(CaseTally.assignee_key)
        .where(CaseTally.status == CaseStatus.CLOSED)
        .order_by(CaseTally.status, CaseTally.assignee_key)
        .with_for_update()
    )


def _expired(cutoff: dt.date) -> ColumnElement[bool]:
    return and_(Case.status == CaseStatus.CLOSED, Case.last_activity_day < cutoff)


def _blob_names_by_case(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    rows = session.execute(
        select(Item.case_id, Attachment.blob_name).join(Attachment.item).where(Item.case_id.in_(case_ids))
    )
    blobs_by_case: dict[uuid.UUID, list[str]] = {}
    for case_id, blob_name in rows:
        blobs_by_case.setdefault(case_id, []).append(blob_name)
    return blobs_by_case


def _truncate_sqlite_wal(session: Session) -> bool:
    """Checkpoint and empty SQLite's WAL, which still holds page images from before the delete.

    True when readers kept it from completing; False when done or not SQLite.
    """
    if session.get_bind().dialect.name != "sqlite":
        return False
    busy, _, _ = session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    session.commit()
    return bool(busy)


def _cases_phrase(count: int) -> str:
    return f"{count} case" if count == 1 else f"{count} cases"
