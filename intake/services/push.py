"""Sending one content-free message to one lawyer's address on a push channel, through Apprise.

Which channels exist, and where each sends, is the operator's configuration
(config.channels); this only fills in the address and reports failure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from config.channels import ChannelKind, apprise_for, channel_url


class PushError(RuntimeError):
    """The channel's server did not take the message."""


@dataclass(frozen=True)
class PushSender:
    templates: Mapping[ChannelKind, str]

    @property
    def kinds(self) -> frozenset[ChannelKind]:
        return frozenset(self.templates)

    def send(self, kind: ChannelKind, address: str, title: str, body: str) -> None:
        plugin = apprise_for(kind, channel_url(kind, self.templates[kind], address))
        if plugin is None or not plugin.notify(body=body, title=title):
            raise PushError(kind.value)
