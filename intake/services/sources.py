"""Returning submitters: codename login, their short session, and what they may read.

After a codename login the Flask session (a signed cookie) holds the source id
and the codename-derived identity sealed under a key derived from the app's
SECRET_KEY. The cookie alone cannot open it and the server keeps nothing of
it, so neither a stolen cookie nor a seized server yields the identity by
itself. The server keeps one counter per source, bumped by logout, so logging
out ends every copy of the cookie; and an unsealed identity counts only if it
is the one the case's replies are encrypted to, so SECRET_KEY alone (a seized
server, a leaked backup) cannot make a session.

A submitter sees lawyers' replies and the case status, never their own
messages: those are not encrypted to the codename key at all.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hmac
import time
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from config import Config
from crypto import (
    CURRENT_CODENAME_VERSION,
    CodenameVersion,
    DecryptionError,
    Identity,
    InvalidCodename,
    derive_subkey,
    identity_from_secret,
    open_sealed,
    seal,
)
from intake.models import Case, CaseStatus, Item, ItemKind, Source
from intake.services.derivation_slots import derive_codename_keys
from intake.services.downloads import DownloadTarget
from intake.services.items import AttachmentMeta, open_item
from intake.services.keyring import codename_kdf, codename_salt

# Short: somebody else may use the same device after them. Each page they
# open extends it, so a long follow-up does not log them out midway; however
# busy, a session ends SOURCE_SESSION_MAX_SECONDS after the codename was typed.
SOURCE_SESSION_SECONDS = 60 * 60
SOURCE_SESSION_MAX_SECONDS = 4 * 60 * 60
_SESSION_SOURCE_ID = "source_id"
_SESSION_SEALED_IDENTITY = "source_identity"
_SESSION_EXPIRES = "source_expires"
_SESSION_ISSUED = "source_issued"
_SESSION_GENERATION = "source_generation"
_SUBKEY_PURPOSE = "source-session"


@dataclass(frozen=True)
class SourceLogin:
    source_id: uuid.UUID
    identity: Identity


@dataclass(frozen=True)
class Reply:
    item_id: uuid.UUID
    day: dt.date
    message: str
    attachments: tuple[AttachmentMeta, ...]


class CaseProgress(enum.Enum):
    """What the submitter's status line says: the case status, told by the latest event they know of."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    NEW_MESSAGE_RECEIVED = "new_message_received"
    ANSWERED = "answered"
    WAITING_FOR_SUBMITTER = "waiting_for_submitter"
    CLOSED = "closed"


@dataclass(frozen=True)
class SourceCase:
    status: CaseStatus
    progress: CaseProgress
    replies: list[Reply]
    unreadable_replies: int


def find_source(session: Session, config: Config, codename: str) -> SourceLogin | None:
    """The source this codename belongs to, or None; the same answer for a typo and a stranger.

    The current derivation is tried first, then version 1 only while some
    source still holds a version 1 lookup id: so a codename unknown to both
    costs both derivations, exactly what a version 1 codename costs, and the
    time taken says nothing about which of the two it was.
    """
    salt = codename_salt(session)
    for version in _versions_to_try(session):
        try:
            keys = derive_codename_keys(codename, salt, version, codename_kdf(config, version))
        except InvalidCodename:
            return None
        source_id = session.scalar(
            select(Source.id).where(
                Source.codename_lookup_id == keys.lookup_id, Source.codename_version == int(version)
            )
        )
        if source_id is not None:
            return SourceLogin(source_id=source_id, identity=keys.identity)
    return None


def _versions_to_try(session: Session) -> list[CodenameVersion]:
    v1_left = session.scalar(select(exists().where(Source.codename_version == int(CodenameVersion.V1))))
    return [CURRENT_CODENAME_VERSION, CodenameVersion.V1] if v1_left else [CURRENT_CODENAME_VERSION]


def remember_login(
    session: Session, cookie_session: MutableMapping[str, Any], secret_key: bytes, login: SourceLogin
) -> None:
    source = session.get(Source, login.source_id)
    if source is None:
        return
    sealed = seal(login.identity.secret.encode(), _session_key(secret_key), _context(login.source_id))
    now = int(time.time())
    cookie_session[_SESSION_SOURCE_ID] = str(login.source_id)
    cookie_session[_SESSION_SEALED_IDENTITY] = base64.urlsafe_b64encode(sealed).decode()
    cookie_session[_SESSION_EXPIRES] = now + SOURCE_SESSION_SECONDS
    cookie_session[_SESSION_ISSUED] = now
    cookie_session[_SESSION_GENERATION] = source.session_generation


def current_login(
    session: Session, cookie_session: MutableMapping[str, Any], secret_key: bytes
) -> SourceLogin | None:
    """The logged-in source, extending the session; None (and forgotten) once expired, revoked or damaged."""
    login = _valid_login(session, cookie_session, secret_key)
    if login is None:
        forget_login(cookie_session)
        return None
    cookie_session[_SESSION_EXPIRES] = int(time.time()) + SOURCE_SESSION_SECONDS
    return login


def extend_login(session: Session, cookie_session: MutableMapping[str, Any], secret_key: bytes) -> None:
    """Count this request as the logged-in source's activity, if there is one.

    A follow-up's files go up in chunks for hours over Tor, and no page is
    loaded meanwhile: without this, the session would end an hour in and the
    follow-up sent at the end would be refused. SOURCE_SESSION_MAX_SECONDS
    still ends it."""
    if _SESSION_EXPIRES in cookie_session:
        current_login(session, cookie_session, secret_key)
        session.rollback()


def log_out(session: Session, cookie_session: MutableMapping[str, Any], secret_key: bytes) -> None:
    """End this session and every copy of its cookie; the codename logs in again as before."""
    login = _valid_login(session, cookie_session, secret_key)
    if login is not None:
        session.execute(
            update(Source)
            .where(Source.id == login.source_id)
            .values(session_generation=Source.session_generation + 1)
        )
        session.commit()
    forget_login(cookie_session)


def forget_login(cookie_session: MutableMapping[str, Any]) -> None:
    for key in (
        _SESSION_SOURCE_ID,
        _SESSION_SEALED_IDENTITY,
        _SESSION_EXPIRES,
        _SESSION_ISSUED,
        _SESSION_GENERATION,
    ):
        cookie_session.pop(key, None)


def _valid_login(
    session: Session, cookie_session: MutableMapping[str, Any], secret_key: bytes
) -> SourceLogin | None:
    now = time.time()
    expires = cookie_session.get(_SESSION_EXPIRES)
    issued = cookie_session.get(_SESSION_ISSUED)
    generation = cookie_session.get(_SESSION_GENERATION)
    if not (isinstance(expires, int) and isinstance(issued, int) and isinstance(generation, int)):
        return None
    if expires < now or issued + SOURCE_SESSION_MAX_SECONDS < now:
        return None
    try:
        source_id = uuid.UUID(str(cookie_session[_SESSION_SOURCE_ID]))
        sealed = base64.urlsafe_b64decode(str(cookie_session[_SESSION_SEALED_IDENTITY]))
        secret = open_sealed(sealed, _session_key(secret_key), _context(source_id))
        identity = identity_from_secret(secret.decode())
    except (KeyError, ValueError, DecryptionError):
        return None
    source = session.get(Source, source_id)
    # Whoever holds SECRET_KEY can seal any identity; only the codename's own
    # is the one the case's replies are encrypted to.
    if (
        source is None
        or source.session_generation != generation
        or not hmac.compare_digest(identity.recipient, source.reply_recipient)
    ):
        return None
    return SourceLogin(source_id=source_id, identity=identity)


def source_case(session: Session, login: SourceLogin) -> SourceCase | None:
    """Status and replies of the source's case, decrypted with their codename identity."""
    case = session.scalar(select(Case).where(Case.source_id == login.source_id))
    if case is None:
        return None
    replies: list[Reply] = []
    unreadable = 0
    for item in _reply_items(session, case):
        try:
            payload = open_item(item.ciphertext, [login.identity.secret])
        except DecryptionError:
            unreadable += 1
            continue
        replies.append(Reply(item.id, item.created_day, payload.message, payload.attachments))
    return SourceCase(
        status=case.status,
        progress=_progress(session, case),
        replies=replies,
        unreadable_replies=unreadable,
    )


def _progress(session: Session, case: Case) -> CaseProgress:
    """A follow-up after the last reply is news the lawyers have; a reply after it is their answer."""
    if case.status == CaseStatus.CLOSED:
        return CaseProgress.CLOSED
    latest = session.scalar(
        select(Item.kind)
        .where(
            Item.case_id == case.id,
            or_(
                Item.kind.in_([ItemKind.SUBMISSION, ItemKind.FOLLOW_UP]),
                and_(Item.kind == ItemKind.REPLY, Item.visible_to_source.is_(True)),
            ),
        )
        .order_by(Item.seq.desc())
        .limit(1)
    )
    if latest == ItemKind.FOLLOW_UP:
        return CaseProgress.NEW_MESSAGE_RECEIVED
    if case.status == CaseStatus.WAITING_FOR_SUBMITTER:
        return CaseProgress.WAITING_FOR_SUBMITTER
    if latest == ItemKind.REPLY:
        return CaseProgress.ANSWERED
    return CaseProgress.RECEIVED if case.status == CaseStatus.NEW else CaseProgress.IN_PROGRESS


def find_reply_attachment(
    session: Session, login: SourceLogin, item_id: uuid.UUID, attachment_id: uuid.UUID
) -> DownloadTarget | None:
    """A file a lawyer attached to a reply to this source; None if there is no such file.

    The caller streams it through `downloads.decrypted_chunks`, so plaintext
    never touches the disk and never sits whole in memory.
    """
    item = session.get(Item, item_id)
    if item is None or not _is_reply_to(item, login.source_id):
        return None
    blob_names = {str(attachment.id): attachment.blob_name for attachment in item.attachments}
    try:
        payload = open_item(item.ciphertext, [login.identity.secret])
    except DecryptionError:
        return None
    for meta in payload.attachments:
        if meta.attachment_id == str(attachment_id) and meta.attachment_id in blob_names:
            return DownloadTarget(blob_name=blob_names[meta.attachment_id], filename=meta.filename)
    return None


def _reply_items(session: Session, case: Case) -> list[Item]:
    query = (
        select(Item)
        .where(Item.case_id == case.id, Item.kind == ItemKind.REPLY, Item.visible_to_source.is_(True))
        .order_by(Item.seq)
    )
    return list(session.scalars(query))


def _is_reply_to(item: Item, source_id: uuid.UUID) -> bool:
    return item.kind == ItemKind.REPLY and item.visible_to_source and item.case.source_id == source_id


def _session_key(secret_key: bytes) -> bytes:
    return derive_subkey(secret_key, _SUBKEY_PURPOSE)


def _context(source_id: uuid.UUID) -> bytes:
    return b"intake/source-session/v1/" + str(source_id).encode()
