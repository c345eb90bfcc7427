"""Vetting: who may read new submissions, and ending access at once."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from intake.models import Case, Item, ItemRecipient, NotificationChannel, Role, User, UserStatus
from intake.services import audit
from intake.services.clock import utc_now
from intake.services.lawyer_sessions import end_all_sessions

# Revocation is final: a revoked person who comes back is invited afresh and vetted again.
ALLOWED_TRANSITIONS: dict[UserStatus, frozenset[UserStatus]] = {
    UserStatus.PENDING: frozenset({UserStatus.VETTED, UserStatus.REVOKED}),
    UserStatus.VETTED: frozenset({UserStatus.SUSPENDED, UserStatus.REVOKED}),
    UserStatus.SUSPENDED: frozenset({UserStatus.VETTED, UserStatus.REVOKED}),
    UserStatus.REVOKED: frozenset(),
}


def staff_by_status(session: Session) -> dict[UserStatus, list[User]]:
    users = session.scalars(select(User).order_by(User.email))
    grouped: dict[UserStatus, list[User]] = {status: [] for status in UserStatus}
    for user in users:
        grouped[user.status].append(user)
    return grouped


def change_status(session: Session, admin: User, user: User, new_status: UserStatus) -> None:
    """Approve, suspend, reinstate or revoke; leaving VETTED ends every session at once,
    and revoking also deletes the person's notification addresses."""
    allowed = ALLOWED_TRANSITIONS.get(user.status, frozenset())
    if new_status not in allowed:
        raise ValueError(f"cannot go from {user.status.value} to {new_status.value}")
    if user.id == admin.id:
        raise ValueError("admins cannot change their own status")
    user.status = new_status
    if new_status is UserStatus.VETTED and user.vetted_day is None:
        user.vetted_day = utc_now().date()
    if new_status in (UserStatus.SUSPENDED, UserStatus.REVOKED):
        end_all_sessions(session, user.id)
    if new_status is UserStatus.REVOKED:
        # Revocation is final: their Signal number or ntfy topic is no longer ours to keep.
        session.execute(delete(NotificationChannel).where(NotificationChannel.user_id == user.id))
    audit.record(session, f"user.{new_status.value}", actor=admin, detail=str(user.id))
    session.commit()


def cases_only_readable_by(session: Session, user: User) -> list[int]:
    """Numbers of cases with an item no other vetted lawyer can decrypt.

    Only the recovery trustees could still read those items once this user
    is gone, so admins see the list before suspending or revoking.
    """
    other = aliased(ItemRecipient)
    other_user = aliased(User)
    readable_by_someone_else = (
        select(other.item_id)
        .join(other_user, other_user.id == other.user_id)
        .where(other.item_id == Item.id, other.user_id != user.id, other_user.status == UserStatus.VETTED)
        .exists()
    )
    query = (
        select(Case.number)
        .join(Item, Item.case_id == Case.id)
        .join(ItemRecipient, ItemRecipient.item_id == Item.id)
        .where(ItemRecipient.user_id == user.id, ~readable_by_someone_else)
        .group_by(Case.number)
        .order_by(Case.number)
    )
    return list(session.scalars(query))


def count_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == Role.ADMIN)) or 0
