"""The text of an age v1 header: stanzas, the MAC line, canonical base64 (https://age-encryption.org/v1).

Parsing is as strict as age 1.x: every base64 string canonical and unpadded,
stanza bodies wrapped at 64 columns and ended by a shorter (possibly empty)
line, arguments of printable ASCII. Stanzas of any type are parsed, so that
a recipient type we do not know (a "grease" stanza, say) can be skipped.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import DecryptionError

VERSION_LINE = b"age-encryption.org/v1"
STANZA_PREFIX = b"->"
FOOTER_PREFIX = b"---"
COLUMNS_PER_LINE = 64
BYTES_PER_LINE = COLUMNS_PER_LINE // 4 * 3
MAC_LENGTH = 32
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/]*")
_ARGUMENT = re.compile(rb"[\x21-\x7e]+")


@dataclass(frozen=True)
class Stanza:
    type: str
    arguments: tuple[str, ...]
    body: bytes


@dataclass(frozen=True)
class Header:
    stanzas: tuple[Stanza, ...]
    mac: bytes
    # Every byte the MAC covers: the header up to and including "---".
    mac_input: bytes


def encode_base64(raw: bytes) -> bytes:
    return base64.b64encode(raw).rstrip(b"=")


def decode_base64(text: bytes) -> bytes:
    """Canonical unpadded base64 only; anything else is a DecryptionError."""
    # Three characters carry two bytes and two carry one; one alone carries nothing.
    if not _BASE64_TEXT.fullmatch(text) or len(text) % 4 == 1:
        raise DecryptionError from None
    raw = base64.b64decode(text + b"=" * (-len(text) % 4))
    # A last character with unused bits set decodes too, but is not canonical.
    if encode_base64(raw) != text:
        raise DecryptionError from None
    return raw


def encode_stanza(stanza: Stanza) -> bytes:
    opening = b" ".join(
        [STANZA_PREFIX, stanza.type.encode("ascii"), *(a.encode("ascii") for a in stanza.arguments)]
    )
    text = encode_base64(stanza.body)
    # Full lines, then always a shorter last line, empty if need be.
    lines = [text[start : start + COLUMNS_PER_LINE] for start in range(0, len(text) + 1, COLUMNS_PER_LINE)]
    return opening + b"\n" + b"\n".join(lines) + b"\n"


def encode_header(stanzas: list[Stanza], file_key: bytes) -> bytes:
    """The whole header, MAC line and its newline included."""
    mac_input = VERSION_LINE + b"\n" + b"".join(encode_stanza(stanza) for stanza in stanzas) + FOOTER_PREFIX
    return mac_input + b" " + encode_base64(header_mac(file_key, mac_input)) + b"\n"


def header_mac(file_key: bytes, mac_input: bytes) -> bytes:
    mac_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"header").derive(file_key)
    return hmac.digest(mac_key, mac_input, hashlib.sha256)


def header_end(buffer: bytes | bytearray) -> int | None:
    """Where the header in `buffer` ends (just past the MAC line), or None if it has not ended yet.

    The first line that begins with "---" is the MAC line: no other line of a
    well-formed header can begin so, and in a malformed one parse_header fails.
    """
    footer = buffer.find(b"\n" + FOOTER_PREFIX)
    if footer < 0:
        return None
    newline = buffer.find(b"\n", footer + 1)
    return None if newline < 0 else newline + 1


def parse_header(header: bytes) -> Header:
    """Parse a header that `header_end` delimited; DecryptionError if it is not well formed."""
    lines = header[:-1].split(b"\n")
    if lines[0] != VERSION_LINE:
        raise DecryptionError from None
    stanzas = []
    index = 1
    while not lines[index].startswith(FOOTER_PREFIX):
        stanza, index = _parse_stanza(lines, index)
        stanzas.append(stanza)
    mac_line = lines[index].split(b" ")
    if mac_line[0] != FOOTER_PREFIX or len(mac_line) != 2:
        raise DecryptionError from None
    mac = decode_base64(mac_line[1])
    if len(mac) != MAC_LENGTH:
        raise DecryptionError from None
    mac_input_length = len(header) - len(lines[index]) - 1 + len(FOOTER_PREFIX)
    return Header(tuple(stanzas), mac, header[:mac_input_length])


def _parse_stanza(lines: list[bytes], index: int) -> tuple[Stanza, int]:
    """The stanza whose opening line is lines[index], and the index of the line after it."""
    words = lines[index].split(b" ")
    if words[0] != STANZA_PREFIX or len(words) < 2:
        raise DecryptionError from None
    if not all(_ARGUMENT.fullmatch(word) for word in words[1:]):
        raise DecryptionError from None
    body = bytearray()
    while True:
        index += 1
        # The MAC line is never valid base64, so a body cannot run past it.
        line = lines[index]
        if len(line) > COLUMNS_PER_LINE:
            raise DecryptionError from None
        body += decode_base64(line)
        if len(line) < COLUMNS_PER_LINE:
            break
    arguments = tuple(word.decode("ascii") for word in words[2:])
    return Stanza(words[1].decode("ascii"), arguments, bytes(body)), index + 1
