"""The audit trail: who did what to which case, never what anything said.

Only a day is stored, like every other date in the database, and `detail`
holds identifiers and states (a status name, a user id), never free text a
person typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import AuditEvent, User
from intake.services.clock import utc_now


def record(
    session: Session,
    action: str,
    actor: User | None = None,
    case_number: int | None = None,
    detail: str | None = None,
) -> None:
    session.add(
        AuditEvent(
            day=utc_now().date(),
            actor_id=actor.id if actor else None,
            action=action,
            case_number=case_number,
            detail=detail,
        )
    )


@dataclass(frozen=True)
class AuditPage:
    # Each event with its actor's email (None when the actor is gone or was the system).
    events: Sequence[tuple[AuditEvent, str | None]]
    page: int
    has_next: bool


def recent_events(session: Session, page: int, per_page: int = 100) -> AuditPage:
    """Newest first."""
    query = (
        select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    )
    rows = [(event, email) for event, email in session.execute(query)]
    return AuditPage(events=rows[:per_page], page=page, has_next=len(rows) > per_page)
