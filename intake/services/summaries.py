"""The per-case summary the inbox shows once a lawyer has unlocked their key.

Help type, urgency, country and the language the submitter wrote in are
copied out of the first request into a small, separately encrypted document,
so an inbox page decrypts a few hundred bytes per row instead of whole
submissions. It is sealed to the same recipients as the case's items and
never stored or indexed in plaintext: sorting and filtering on it happen in
memory, for one request.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from crypto import Decrypter, DecryptionError, decrypt_padded_with, encrypt_padded

SUMMARY_VERSION = 1
URGENT = "danger_now"
# Lower sorts first. A summary the lawyer cannot read ranks with "days":
# it might be urgent, so it must not sink below cases that can wait.
URGENCY_RANK = {URGENT: 0, "days": 1, "weeks": 2}
UNKNOWN_URGENCY_RANK = 1
# The summary is a triage aid, not the request: long free text is cut.
MAX_COUNTRY_CHARS = 100


@dataclass(frozen=True)
class SummaryPayload:
    help_kind: str = ""
    urgency: str = ""
    country: str = ""
    language: str = ""

    @property
    def urgent(self) -> bool:
        return self.urgency == URGENT

    def to_json(self) -> bytes:
        document = {"v": SUMMARY_VERSION, **asdict(self)}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, plaintext: bytes) -> SummaryPayload:
        try:
            document = json.loads(plaintext)
            if document.pop("v") != SUMMARY_VERSION:
                raise ValueError("unknown summary version")
            return cls(**{name: str(document[name]) for name in ("help_kind", "urgency", "country", "language")})
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise DecryptionError from error


def summary_from_answers(answers: Mapping[str, str], language: str) -> SummaryPayload:
    return SummaryPayload(
        help_kind=answers.get("help_kind", ""),
        urgency=answers.get("urgency", ""),
        country=answers.get("country", "")[:MAX_COUNTRY_CHARS],
        language=language,
    )


def urgency_rank(summary: SummaryPayload | None) -> int:
    if summary is None:
        return UNKNOWN_URGENCY_RANK
    return URGENCY_RANK.get(summary.urgency, UNKNOWN_URGENCY_RANK)


def seal_summary(summary: SummaryPayload, recipients: Sequence[str]) -> bytes:
    return encrypt_padded(summary.to_json(), recipients)


def open_summary(ciphertext: bytes | None, identities: Sequence[str]) -> SummaryPayload | None:
    """The summary, or None when there is none or this key cannot open it."""
    return open_summary_with(ciphertext, Decrypter(identities))


def open_summary_with(ciphertext: bytes | None, decrypter: Decrypter) -> SummaryPayload | None:
    """open_summary with the identities parsed once, for a page of summaries."""
    if ciphertext is None:
        return None
    try:
        return SummaryPayload.from_json(decrypt_padded_with(ciphertext, decrypter))
    except DecryptionError:
        return None
