"""A real SMTP server (aiosmtpd) on loopback, for tests of outgoing email."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession


class ReceivedMail:
    """What the server received: (recipients, message)."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        self.received.append((list(envelope.rcpt_tos), content))
        return "250 OK"

    def take(self) -> list[tuple[list[str], Message]]:
        taken = [(to, message_from_bytes(raw)) for to, raw in self.received]
        self.received.clear()
        return taken


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[ReceivedMail, int]]:
    mail = ReceivedMail()
    port = free_port()
    controller = Controller(mail, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mail, port
    finally:
        controller.stop()
