"""Typed SQLAlchemy 2 models. No crypto, no side effects: services encrypt
first and then build rows from ciphertext.

Submitter-facing dates are coarsened to the day (`*_day` columns) so the
database does not record when exactly somebody reached out.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Uuid,
    false,
    literal_column,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from config.channels import ChannelKind

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(enum_class: type[enum.Enum]) -> Enum:
    # Stored as plain strings: portable between SQLite and PostgreSQL, and
    # adding a value needs no ALTER TYPE migration.
    return Enum(
        enum_class,
        native_enum=False,
        validate_strings=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


class Role(enum.Enum):
    LAWYER = "lawyer"
    ADMIN = "admin"


class UserStatus(enum.Enum):
    # enrolled, waiting for an admin to compare fingerprints
    PENDING = "pending"
    VETTED = "vetted"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class CaseStatus(enum.Enum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_SUBMITTER = "waiting_for_submitter"
    CLOSED = "closed"


class ItemKind(enum.Enum):
    SUBMISSION = "submission"
    FOLLOW_UP = "follow_up"
    REPLY = "reply"
    NOTE = "note"


class InstanceKeys(Base):
    """The single row of instance-wide key material that is safe to keep."""

    __tablename__ = "instance_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    codename_salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    # Only the public half; the identity exists as SLIP-39 shares offline.
    recovery_recipient: Mapped[str | None] = mapped_column(String(128))
    admin_setup_token_hash: Mapped[str | None] = mapped_column(String(64))
    admin_setup_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    # Case numbers come from this counter, never from max(number) + 1, so a
    # number freed by retention is never given to somebody else's case.
    last_case_number: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Urgent requests not yet announced by `intake notify`: a count, never which case.
    urgent_alerts_pending: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    status: Mapped[UserStatus] = mapped_column(_enum(UserStatus), index=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    # TOTP secret sealed under a key derived from the server secret.
    totp_secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Last accepted TOTP time step: a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    public_recipient: Mapped[str] = mapped_column(String(128))
    wrapped_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_day: Mapped[dt.date] = mapped_column(Date)
    vetted_day: Mapped[dt.date | None] = mapped_column(Date)


class Invite(Base):
    __tablename__ = "invites"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(_enum(Role))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used: Mapped[bool] = mapped_column(default=False)


class LawyerSession(Base):
    """Server half of a split-custody unlock.

    `sealed_identity` is the lawyer's age identity sealed under a key that
    exists only in the lawyer's cookie: this row alone decrypts nothing.
    """

    __tablename__ = "lawyer_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sealed_identity: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Source(Base):
    """A submitter, known only by what their codename derives."""

    __tablename__ = "sources"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    codename_lookup_id: Mapped[str] = mapped_column(String(64), unique=True)
    # The crypto.CodenameVersion that derived the lookup id. Sources from before
    # version 2 hold 1; once none does, logins stop trying version 1.
    codename_version: Mapped[int] = mapped_column(SmallInteger, server_default="1", index=True)
    reply_recipient: Mapped[str] = mapped_column(String(128))
    created_day: Mapped[dt.date] = mapped_column(Date)
    # Bumped by logout: every cookie issued under an older value stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # The inbox lists cases by latest activity, all of them or by status or assignee.
        Index("ix_cases_last_activity_day_number", "last_activity_day", "number"),
        Index("ix_cases_status_last_activity_day_number", "status", "last_activity_day", "number"),
        Index("ix_cases_assignee_id_last_activity_day_number", "assignee_id", "last_activity_day", "number"),
        # One lawyer's (or nobody's) open or closed cases: counted and paged in the index
        # alone, not checked for their status row by row.
        Index(
            "ix_cases_assignee_id_status_last_activity_day_number",
            "assignee_id",
            "status",
            "last_activity_day",
            "number",
        ),
        # Open cases alone, for the urgency order's scan: 80 % of cases are closed on an
        # instance that has run for years. Queries must spell the condition inline (OPEN_CASE).
        Index(
            "ix_cases_open_last_activity_day_number",
            "last_activity_day",
            "number",
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    source_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"), unique=True)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.NEW)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_day: Mapped[dt.date] = mapped_column(Date)
    last_activity_day: Mapped[dt.date] = mapped_column(Date)
    # Bumped on every new item; a lawyer's SeenCase row is kept only while it was seen at this value.
    activity_seq: Mapped[int] = mapped_column(Integer, default=0)
    item_count: Mapped[int] = mapped_column(Integer, default=0)
    # How the first request arrived: encrypted by the submitter's browser
    # (JavaScript on) or by the server as it streamed in (JavaScript off).
    encrypted_in_browser: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Keyed digest (crypto.form_digest) of the last help-request form stored
    # under this codename: the same form sent again stores nothing, a changed
    # one becomes a further message. Empty for cases older than the digest.
    sent_form_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    source: Mapped[Source] = relationship()
    assignee: Mapped[User | None] = relationship()
    items: Mapped[list[Item]] = relationship(
        back_populates="case", order_by="Item.seq", cascade="all, delete-orphan"
    )


# "The case is open", spelled inline as ix_cases_open_last_activity_day_number's
# condition is: neither database uses a partial index for a condition on a bound parameter.
OPEN_CASE = Case.status != literal_column("'closed'")


class Item(Base):
    """One age ciphertext: a submission, follow-up, reply or note.

    The plaintext (padded JSON) holds the form fields and each attachment's
    filename, content type and size, so none of those sit in a column.
    """

    __tablename__ = "items"
    __table_args__ = (Index("ix_items_case_id_seq", "case_id", "seq", unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ItemKind] = mapped_column(_enum(ItemKind))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_day: Mapped[dt.date] = mapped_column(Date)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # True when the submitter's codename key is a recipient (replies).
    visible_to_source: Mapped[bool] = mapped_column(default=False)

    case: Mapped[Case] = relationship(back_populates="items")
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="item", order_by="Attachment.position", cascade="all, delete-orphan"
    )
    recipients: Mapped[list[ItemRecipient]] = relationship(cascade="all, delete-orphan")


class ItemRecipient(Base):
    """Which lawyers' keys an item was encrypted to, so the UI can say who can read it."""

    __tablename__ = "item_recipients"

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    blob_name: Mapped[str] = mapped_column(String(64), unique=True)
    ciphertext_size: Mapped[int] = mapped_column(BigInteger)

    item: Mapped[Item] = relationship(back_populates="attachments")


class CaseSummary(Base):
    """What the inbox shows about a case (help type, urgency, language, country), as one
    padded age ciphertext to the same recipients as the case's first item.

    A separate row, so cases from before summaries existed simply have none;
    nothing in it is ever indexed or stored in plaintext.
    """

    __tablename__ = "case_summaries"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)

    case: Mapped[Case] = relationship()


# A case_tallies row's assignee_key for cases nobody is assigned: a key column cannot be NULL.
NOBODY = uuid.UUID(int=0)


class CaseTally(Base):
    """How many cases have each status and assignee, kept by triggers on cases (migration 0015).

    Counting in an index walks every matching entry: at 100,000 cases
    PostgreSQL took 13-17 ms for all of them and 26-31 ms for the closed
    ones, on every inbox view. The inbox sums a few of these rows instead. The
    database keeps them, not the application, so every write path (bulk
    loads, retention, a lawyer deleted and their cases set to nobody, plain
    SQL) stays counted.
    """

    __tablename__ = "case_tallies"

    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), primary_key=True)
    # The assignee's user id, or NOBODY; no foreign key: a deleted user's count moves to NOBODY.
    assignee_key: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_count: Mapped[int] = mapped_column(Integer)


class SeenCase(Base):
    """A lawyer has seen everything on this case so far; a case without their row is new to them.

    New activity deletes the case's rows (intake.services.seen_cases), so the
    inbox asks "new to this lawyer?" with one probe of this primary key per
    case, from the case number its indexes already hold, instead of comparing
    a read marker's counter with the case's row by row. It counts new cases
    as the matching cases less this lawyer's rows whose case matches: hence
    the copies of the case's status and assignee, which a trigger on cases
    (migration 0013) rewrites whenever those change.
    """

    __tablename__ = "seen_cases"
    __table_args__ = (
        Index("ix_seen_cases_case_number", "case_number"),
        # One lawyer's seen cases by status, assignee or both: counted in the index alone.
        Index(
            "ix_seen_cases_user_id_case_status_case_assignee_id", "user_id", "case_status", "case_assignee_id"
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    case_number: Mapped[int] = mapped_column(ForeignKey("cases.number", ondelete="CASCADE"), primary_key=True)
    # Copies of the case's, kept by the database (no foreign key: the case's own goes to
    # nobody when its lawyer is deleted, and the trigger copies that).
    case_status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus))
    case_assignee_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class NotificationSettings(Base):
    """A lawyer's opt-in to content-free notifications, and what their last digest counted up to."""

    __tablename__ = "notification_settings"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    daily_digest: Mapped[bool] = mapped_column(default=False)
    urgent_alerts: Mapped[bool] = mapped_column(default=False)
    # Whether they go to the account's email; push channels are NotificationChannel rows.
    by_email: Mapped[bool] = mapped_column(default=True, server_default=true())
    digest_sent_day: Mapped[dt.date | None] = mapped_column(Date)
    # Counters the last digest (or the opt-in) reached; the next one reports the difference.
    seen_case_number: Mapped[int] = mapped_column(Integer, default=0)
    seen_follow_ups: Mapped[int] = mapped_column(Integer, default=0)


class NotificationChannel(Base):
    """A lawyer's own address on one push channel (ntfy topic, Signal number, Matrix room).

    Sealed under a key derived from SECRET_KEY and padded to one length, so a
    database alone shows who uses which kind of channel, never the address.
    """

    __tablename__ = "notification_channels"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[ChannelKind] = mapped_column(_enum(ChannelKind), primary_key=True)
    address_sealed: Mapped[bytes] = mapped_column(LargeBinary)


class AuditEvent(Base):
    """Events, never contents: "case 42 viewed by lawyer 7"."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(64))
    case_number: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(256))
