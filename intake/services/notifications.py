"""Content-free notifications: a lawyer learns that something arrived, never what.

A digest says only "N new requests, M new messages", under a fixed subject,
at most once per UTC day and only from the periodic `intake notify` run (in
INTAKE_NOTIFY_DIGEST_HOUR when it is set), so the mail or push provider
learns neither case numbers, nor contents, nor when a request arrived. An urgent alert says only that an urgent request is
waiting; it goes out at the next run after one arrives, which is its point,
so its send time does tell the provider roughly when that was (see
docs/operators.md).

Each lawyer chooses what (digest, urgent alerts) and where: their account's
email and any push channel the operator turned on (config.channels). The
same text goes everywhere at the same run. One route failing never stops
the others; a digest counts as told once any route took it.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from config.channels import ChannelKind
from crypto import DecryptionError
from intake.models import Item, ItemKind, NotificationChannel, NotificationSettings, User, UserStatus
from intake.services.keyring import instance_keys
from intake.services.mailer import Mailer
from intake.services.notification_addresses import open_address, seal_address
from intake.services.push import PushError, PushSender

logger = logging.getLogger("intake.notifications")

DIGEST_SUBJECT = "Intake: new activity"
URGENT_SUBJECT = "Intake: urgent request"
# English, Russian and Ukrainian: the lawyer's language is not stored, and the text must stay fixed.
DIGEST_BODY = (
    "New requests: {requests}. New messages from submitters: {messages}.\n"
    "Новых обращений: {requests}. Новых сообщений от заявителей: {messages}.\n"
    "Нових звернень: {requests}. Нових повідомлень від заявників: {messages}.\n\n"
    "Log in to read them. / Войдите, чтобы их прочитать. / Увійдіть, щоб їх прочитати.\n"
)
URGENT_BODY = (
    "An urgent request is waiting. Log in to read it.\n"
    "Ждёт срочное обращение. Войдите, чтобы его прочитать.\n"
    "Чекає термінове звернення. Увійдіть, щоб його прочитати.\n"
)


EMAIL_ROUTE = "email"


@dataclass(frozen=True)
class Preferences:
    daily_digest: bool
    urgent_alerts: bool
    by_email: bool = True
    # A lawyer's own address on each push channel they use.
    addresses: Mapping[ChannelKind, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Routes:
    """How this run can reach lawyers: email and the push channels the operator turned on."""

    mailer: Mailer | None
    push: PushSender | None
    secret_key: bytes = field(repr=False)

    @property
    def push_kinds(self) -> frozenset[ChannelKind]:
        return self.push.kinds if self.push else frozenset()


@dataclass(frozen=True)
class NotifyReport:
    digests: int
    urgent_alerts: int
    failures: int
    # Messages taken, by route ("email", "ntfy", …): counts only.
    sent: Mapping[str, int] = field(default_factory=dict)


def preferences(session: Session, user: User, secret_key: bytes) -> Preferences:
    settings = session.get(NotificationSettings, user.id)
    addresses = {}
    for channel in session.scalars(select(NotificationChannel).where(NotificationChannel.user_id == user.id)):
        try:
            addresses[channel.kind] = open_address(secret_key, user.id, channel.kind, channel.address_sealed)
        except DecryptionError:
            continue  # sealed under an earlier SECRET_KEY: shown empty, to be given again
    if settings is None:
        return Preferences(daily_digest=False, urgent_alerts=False, addresses=addresses)
    return Preferences(
        daily_digest=settings.daily_digest,
        urgent_alerts=settings.urgent_alerts,
        by_email=settings.by_email,
        addresses=addresses,
    )


def set_preferences(
    session: Session, user: User, chosen: Preferences, secret_key: bytes, offered: frozenset[ChannelKind]
) -> None:
    """Opting in starts counting now: the first digest never reports the whole history.

    Only the channels offered on the page change; an address left empty is deleted.
    """
    settings = session.get(NotificationSettings, user.id)
    if settings is None:
        settings = NotificationSettings(user_id=user.id, daily_digest=False, urgent_alerts=False)
        session.add(settings)
    if chosen.daily_digest and not settings.daily_digest:
        settings.seen_case_number, settings.seen_follow_ups = _counters(session)
    settings.daily_digest = chosen.daily_digest
    settings.urgent_alerts = chosen.urgent_alerts
    settings.by_email = chosen.by_email
    for kind in offered:
        address = chosen.addresses.get(kind)
        channel = session.get(NotificationChannel, (user.id, kind))
        if address is None:
            if channel is not None:
                session.delete(channel)
            continue
        sealed = seal_address(secret_key, user.id, kind, address)
        if channel is None:
            session.add(NotificationChannel(user_id=user.id, kind=kind, address_sealed=sealed))
        else:
            channel.address_sealed = sealed
    session.commit()


def notify(session: Session, routes: Routes, now: dt.datetime, digest_hour: int | None = None) -> NotifyReport:
    """Send what is due: urgent alerts if any are pending, then today's digests.

    With a digest hour, digests go out only in that UTC hour, so their send
    time says nothing about when the day's first request arrived; without
    one, at the first run of the day that has something new.
    """
    today = now.date()
    tally = _Tally()
    addresses = _addresses(session, routes)
    keys = instance_keys(session)
    alerts = 0
    if keys.urgent_alerts_pending:
        for settings, email in _subscribers(session, NotificationSettings.urgent_alerts):
            if tally.tell(routes, settings, email, addresses, URGENT_SUBJECT, URGENT_BODY):
                alerts += 1
        keys.urgent_alerts_pending = 0
        session.commit()
    digests = 0
    if digest_hour is not None and now.hour != digest_hour:
        return NotifyReport(digests=0, urgent_alerts=alerts, failures=tally.failures, sent=dict(tally.sent))
    case_number, follow_ups = _counters(session)
    for settings, email in _subscribers(session, NotificationSettings.daily_digest):
        if settings.digest_sent_day == today:
            continue
        requests = max(0, case_number - settings.seen_case_number)
        messages = max(0, follow_ups - settings.seen_follow_ups)
        if requests == 0 and messages == 0:
            continue
        body = DIGEST_BODY.format(requests=requests, messages=messages)
        if not tally.tell(routes, settings, email, addresses, DIGEST_SUBJECT, body):
            continue
        settings.digest_sent_day = today
        settings.seen_case_number, settings.seen_follow_ups = case_number, follow_ups
        session.commit()
        digests += 1
    return NotifyReport(digests=digests, urgent_alerts=alerts, failures=tally.failures, sent=dict(tally.sent))
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


def _addresses(session: Session, routes: Routes) -> dict[uuid.UUID, list[tuple[ChannelKind, str | None]]]:
    """Each lawyer's addresses on the channels this run can use; None where one cannot be opened."""
    found: dict[uuid.UUID, list[tuple[ChannelKind, str | None]]] = {}
    if not routes.push_kinds:
        return found
    query = select(NotificationChannel).where(NotificationChannel.kind.in_(routes.push_kinds))
    for channel in session.scalars(query.order_by(NotificationChannel.kind)):
        try:
            address: str | None = open_address(
                routes.secret_key, channel.user_id, channel.kind, channel.address_sealed
            )
        except DecryptionError:
            address = None
        found.setdefault(channel.user_id, []).append((channel.kind, address))
    return found


class _Tally:
    def __init__(self) -> None:
        self.failures = 0
        self.sent: Counter[str] = Counter()

    def tell(
        self,
        routes: Routes,
        settings: NotificationSettings,
        email: str,
        addresses: Mapping[uuid.UUID, list[tuple[ChannelKind, str | None]]],
        subject: str,
        body: str,
    ) -> bool:
        """Send on every route the lawyer chose; True if at least one took it."""
        told = False
        if settings.by_email and routes.mailer is not None:
            told |= self._record(EMAIL_ROUTE, settings.user_id, _mail(routes.mailer, email, subject, body))
        for kind, address in addresses.get(settings.user_id, []):
            if routes.push is None:
                continue
            failure = "unreadable address" if address is None else _push(routes.push, kind, address, subject, body)
            told |= self._record(kind.value, settings.user_id, failure)
        return told

    def _record(self, route: str, user_id: uuid.UUID, failure: str | None) -> bool:
        if failure is None:
            self.sent[route] += 1
            return True
        # The user id, the route and the kind of failure; never the address or the message,
        # and no time beyond the log's own.
        logger.warning("notification to user %s by %s failed: %s", user_id, route, failure)
        self.failures += 1
        return False


def _mail(mailer: Mailer, to: str, subject: str, body: str) -> str | None:
    try:
        mailer.send(to, subject, body)
    except (OSError, smtplib.SMTPException) as error:
        return type(error).__name__
    return None


def _push(push: PushSender, kind: ChannelKind, address: str, title: str, body: str) -> str | None:
    try:
        push.send(kind, address, title, body)
    except PushError:
        return "not taken"
    return None
