"""Content-free notifications: a lawyer learns that something arrived, never what.

A digest says only "N new requests, M new messages", under a fixed subject,
at most once per UTC day and only from the periodic `intake notify` run, so
the mail provider learns neither case numbers, nor contents, nor when a
request arrived. An urgent alert says only that an urgent request is
waiting; it goes out at the next run after one arrives, which is its point,
so its send time does tell the provider roughly when that was (see
docs/operators.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from intake.models import Item, ItemKind, NotificationSettings, User, UserStatus
from intake.services.keyring import instance_keys
from intake.services.mailer import Mailer

logger = logging.getLogger("intake.notifications")

DIGEST_SUBJECT = "Intake: new activity"
URGENT_SUBJECT = "Intake: urgent request"
# English and Russian: the lawyer's language is not stored, and the text must stay fixed.
DIGEST_BODY = (
    "New requests: {requests}. New messages from submitters: {messages}.\n"
    "Новых обращений: {requests}. Новых сообщений от заявителей: {messages}.\n\n"
    "Log in to read them. / Войдите, чтобы их прочитать.\n"
)
URGENT_BODY = (
    "An urgent request is waiting. Log in to read it.\n"
    "Ждёт срочное обращение. Войдите, чтобы его прочитать.\n"
)


@dataclass(frozen=True)
class Preferences:
    daily_digest: bool
    urgent_alerts: bool


@dataclass(frozen=True)
class NotifyReport:
    digests: int
    urgent_alerts: int
    failures: int


def preferences(session: Session, user: User) -> Preferences:
    settings = session.get(NotificationSettings, user.id)
    if settings is None:
        return Preferences(daily_digest=False, urgent_alerts=False)
    return Preferences(daily_digest=settings.daily_digest, urgent_alerts=settings.urgent_alerts)


def set_preferences(session: Session, user: User, chosen: Preferences) -> None:
    """Opting in starts counting now: the first digest never reports the whole history."""
    settings = session.get(NotificationSettings, user.id)
    if settings is None:
        settings = NotificationSettings(user_id=user.id, daily_digest=False, urgent_alerts=False)
        session.add(settings)
    if chosen.daily_digest and not settings.daily_digest:
        settings.seen_case_number, settings.seen_follow_ups = _counters(session)
    settings.daily_digest = chosen.daily_digest
    settings.urgent_alerts = chosen.urgent_alerts
    session.commit()


def notify(session: Session, mailer: Mailer, today: dt.date) -> NotifyReport:
    """Send what is due: urgent alerts if any are pending, then today's digests."""
    failures = 0
    keys = instance_keys(session)
    alerts = 0
    if keys.urgent_alerts_pending:
        for settings, email in _subscribers(session, NotificationSettings.urgent_alerts):
            if _send(mailer, email, URGENT_SUBJECT, URGENT_BODY, settings.user_id):
                alerts += 1
            else:
                failures += 1
        keys.urgent_alerts_pending = 0
        session.commit()
    digests = 0
    case_number, follow_ups = _counters(session)
    for settings, email in _subscribers(session, NotificationSettings.daily_digest):
        if settings.digest_sent_day == today:
            continue
        requests = max(0, case_number - settings.seen_case_number)
        messages = max(0, follow_ups - settings.seen_follow_ups)
        if requests == 0 and messages == 0:
            continue
        body = DIGEST_BODY.format(requests=requests, messages=messages)
        if not _send(mailer, email, DIGEST_SUBJECT, body, settings.user_id):
            failures += 1
            continue
        settings.digest_sent_day = today
        settings.seen_case_number, settings.seen_follow_ups = case_number, follow_ups
        session.commit()
        digests += 1
    return NotifyReport(digests=digests, urgent_alerts=alerts, failures=failures)


def _counters(session: Session) -> tuple[int, int]:
    follow_ups = session.scalar(select(func.count()).select_from(Item).where(Item.kind == ItemKind.FOLLOW_UP))
    return instance_keys(session).last_case_number, follow_ups or 0


def _subscribers(
    session: Session, flag: InstrumentedAttribute[bool]
) -> list[tuple[NotificationSettings, str]]:
    """Vetted staff who opted in; a suspended or revoked account hears nothing."""
    query = (
        select(NotificationSettings, User.email)
        .join(NotificationSettings, NotificationSettings.user_id == User.id)
        .where(flag.is_(True), User.status == UserStatus.VETTED)
        .order_by(User.email)
    )
    return [(settings, email) for settings, email in session.execute(query)]


def _send(mailer: Mailer, to: str, subject: str, body: str, user_id: uuid.UUID) -> bool:
    try:
        mailer.send(to, subject, body)
    except (OSError, smtplib.SMTPException) as error:
        # The user id, never the address or the message, and no time beyond the log's own.
        logger.warning("notification to user %s failed: %s", user_id, type(error).__name__)
        return False
    return True
