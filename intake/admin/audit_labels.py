"""The audit log in words: event names, statuses and people instead of codes and ids.

Rows keep stable codes (`case.status`, a user id); only the page translates
them, so an old row still reads well after a label changes.
"""

from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from intake.models import AuditEvent, CaseStatus, Role, UserStatus
from intake.staff.forms import STATUS_LABELS

ACTION_LABELS: dict[str, LazyString] = {
    "admin.setup": _l("First administrator set up"),
    "attachment.downloaded": _l("File downloaded"),
    "case.assigned": _l("Case assigned"),
    "case.exported": _l("Case exported for offline work"),
    "case.noted": _l("Internal note added"),
    "case.rekeyed": _l("Case re-encrypted for current lawyers"),
    "case.replied": _l("Reply sent"),
    "case.status": _l("Case status changed"),
    "case.viewed": _l("Case opened"),
    "instance.initialised": _l("Instance initialised"),
    "instance.recovered": _l("Recovery run"),
    "instance.setup_token": _l("Administrator setup link created"),
    "invite.created": _l("Invitation created"),
    "login": _l("Logged in"),
    "login.failed": _l("Failed login"),
    "logout": _l("Logged out"),
    "retention.purged": _l("Old closed cases deleted"),
    "search": _l("Searched cases"),
    "sessions.ended_all": _l("All sessions ended"),
    "user.enrolled": _l("Account created"),
    f"user.{UserStatus.VETTED.value}": _l("Person approved"),
    f"user.{UserStatus.SUSPENDED.value}": _l("Person suspended"),
    f"user.{UserStatus.REVOKED.value}": _l("Person revoked"),
    f"user.{UserStatus.PENDING.value}": _l("Person set back to pending"),
}
ROLE_LABELS = {Role.LAWYER.value: _l("Lawyer"), Role.ADMIN.value: _l("Administrator")}
NOBODY = _l("nobody")


def action_label(action: str) -> str:
    """The event in words; an unknown code (from a newer version) as it is."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


def detail_label(event: AuditEvent, emails: dict[uuid.UUID, str]) -> str:
    """The detail with ids turned into addresses and codes into words."""
    detail = event.detail or ""
    if event.action == "case.status":
        try:
            return str(STATUS_LABELS[CaseStatus(detail)])
        except ValueError:
            return detail
    if event.action == "case.assigned" or event.action.startswith("user."):
        if not detail:
            return str(NOBODY) if event.action == "case.assigned" else ""
        try:
            return emails.get(uuid.UUID(detail), detail)
        except ValueError:
            return str(ROLE_LABELS.get(detail, detail))
    if event.action == "invite.created":
        return str(ROLE_LABELS.get(detail, detail))
    return detail
