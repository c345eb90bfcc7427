"""Push channels (Signal, ntfy, Matrix) the operator turns on, sent through Apprise.

The operator gives one Apprise URL template per kind, with `{address}` where
each lawyer's own address goes (their ntfy topic, Signal number or Matrix
room); the host, port and any sender or token are the operator's. A template
is checked at start with the same Apprise the notifier uses, so a malformed
one stops the app instead of failing quietly at 3 a.m.

Apprise is held to the configured endpoint: no icon URLs (ntfy would hand
GitHub's address to the lawyer's phone), no redirects, no Matrix server
discovery (its .well-known answer may point anywhere), no Matrix end-to-end
device state (it would need storage on disk), and nothing kept on disk.
"""

from __future__ import annotations

import logging
import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

if TYPE_CHECKING:
    from apprise.plugins.base import NotifyBase

PLACEHOLDER = "{address}"
# Long enough for any address below; sealed addresses are padded to it.
MAX_ADDRESS_CHARS = 255


class ChannelKind(StrEnum):
    NTFY = "ntfy"
    SIGNAL = "signal"
    MATRIX = "matrix"


# The environment variable naming each kind's template (or `<name>_FILE`).
TEMPLATE_VARIABLES = {
    ChannelKind.NTFY: "INTAKE_NOTIFY_NTFY_URL",
    ChannelKind.SIGNAL: "INTAKE_NOTIFY_SIGNAL_URL",
    ChannelKind.MATRIX: "INTAKE_NOTIFY_MATRIX_URL",
}
SCHEMES = {
    ChannelKind.NTFY: ("ntfy", "ntfys"),
    ChannelKind.SIGNAL: ("signal", "signals"),
    ChannelKind.MATRIX: ("matrix", "matrixs"),
}
# What a lawyer may give: an ntfy topic, an E.164 number, a Matrix room id or alias.
ADDRESS_SHAPES = {
    ChannelKind.NTFY: re.compile(r"[A-Za-z0-9_-]{1,64}"),
    ChannelKind.SIGNAL: re.compile(r"\+[1-9][0-9]{6,14}"),
    ChannelKind.MATRIX: re.compile(r"[!#][A-Za-z0-9._=/+-]{1,200}:[A-Za-z0-9.-]{1,40}(:[0-9]{1,5})?"),
}
SAMPLE_ADDRESSES = {
    ChannelKind.NTFY: "intake-check",
    ChannelKind.SIGNAL: "+15550100000",
    ChannelKind.MATRIX: "!intake-check:example.org",
}
# Options set on every URL whatever the template says.
FORCED_OPTIONS = {
    ChannelKind.NTFY: {"image": "no", "redirect": "no"},
    ChannelKind.SIGNAL: {"redirect": "no"},
    ChannelKind.MATRIX: {"image": "no", "redirect": "no", "discovery": "no", "e2ee": "no", "mode": "off"},
}


class ChannelTemplateError(ValueError):
    """The template cannot be used; the message names no secret from it."""


def normalise_address(kind: ChannelKind, typed: str) -> str | None:
    """The address in the form Apprise takes, or None if it is not one of this kind."""
    address = typed.strip()
    if kind is ChannelKind.SIGNAL:
        address = re.sub(r"[\s().-]", "", address)
    return address if ADDRESS_SHAPES[kind].fullmatch(address) else None


def channel_url(kind: ChannelKind, template: str, address: str) -> str:
    """The Apprise URL for one address: percent-encoded into the path, options forced."""
    parts = urlsplit(template.replace(PLACEHOLDER, quote(address, safe="")))
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    options.update(FORCED_OPTIONS[kind])
    return urlunsplit(parts._replace(query=urlencode(options)))


def check_template(kind: ChannelKind, template: str) -> None:
    """Raise ChannelTemplateError unless the template sends to exactly the lawyer's address."""
    try:
        parts = urlsplit(template)
        parts.port  # noqa: B018 — reading it validates it
    except ValueError:
        raise ChannelTemplateError("is not a URL") from None
    if parts.scheme not in SCHEMES[kind]:
        raise ChannelTemplateError(f"must start with {' or '.join(s + '://' for s in SCHEMES[kind])}")
    if not parts.hostname or PLACEHOLDER in parts.netloc:
        raise ChannelTemplateError("must name the server's host itself, outside {address}")
    if template.count(PLACEHOLDER) != 1 or PLACEHOLDER not in parts.path:
        raise ChannelTemplateError("must hold {address} once, in the path")
    if any("://" in value for _name, value in parse_qsl(parts.query)):
        raise ChannelTemplateError("must not carry a second URL (an icon, attachment or link)")
    sample = SAMPLE_ADDRESSES[kind]
    plugin = apprise_for(kind, channel_url(kind, template, sample))
    if plugin is None:
        raise ChannelTemplateError("is not understood by Apprise")
    if _targets(kind, plugin) != [sample]:
        raise ChannelTemplateError("must send to {address} and to nothing else")
    if kind is ChannelKind.MATRIX and not _has_access_token(plugin):
        # Without one Apprise logs in, or registers an account, at every run.
        raise ChannelTemplateError("must carry the Matrix account's access token: matrixs://TOKEN@host/{address}")


def apprise_for(kind: ChannelKind, url: str) -> NotifyBase | None:
    """This kind's Apprise plugin for one URL, with every outside call it could make turned off.

    Only the three plugin classes are ever imported: Apprise's own URL lookup
    would load all of its ~190 plugins, in every process that reads the
    configuration, and any of them could be reached by a mistyped scheme.
    """
    from apprise import AppriseAsset

    # Apprise names targets in its log lines, and urllib3 (under it) request paths, which hold
    # a Matrix room; the notifier logs counts itself. Nothing else in Intake speaks HTTP out.
    for name in ("apprise", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)
    plugin_class = _plugin_class(kind)
    options = plugin_class.parse_url(url)
    if not options:
        return None
    options["asset"] = AppriseAsset(
        image_url_mask="",
        image_url_logo="",
        image_path_mask="",
        http_redirects=False,
        storage_mode="memory",
    )
    try:
        plugin: NotifyBase = plugin_class(**options)
    except (TypeError, ValueError):
        return None
    return plugin


def _plugin_class(kind: ChannelKind) -> type[NotifyBase]:
    if kind is ChannelKind.NTFY:
        from apprise.plugins.ntfy import NotifyNtfy

        return NotifyNtfy
    if kind is ChannelKind.SIGNAL:
        from apprise.plugins.signal_api import NotifySignalAPI

        return NotifySignalAPI
    from apprise.plugins.matrix import NotifyMatrix

    return NotifyMatrix


def _targets(kind: ChannelKind, plugin: Any) -> list[str]:
    # Each kind's Apprise plugin keeps its targets under its own name.
    if kind is ChannelKind.NTFY:
        return list(plugin.topics) if plugin.mode == "private" else []
    if kind is ChannelKind.SIGNAL:
        return list(plugin.targets) if plugin.source not in plugin.targets else []
    return list(plugin.rooms) if not plugin.users else []


def _has_access_token(plugin: Any) -> bool:
    # Apprise keeps a bare token in the password slot, with no user.
    return bool(plugin.password) and not plugin.user
