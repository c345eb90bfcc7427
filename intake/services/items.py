"""The plaintext inside every item ciphertext, and sealing it.

An item's plaintext is a small versioned JSON document, padded and then
encrypted with age. Everything a submitter or lawyer wrote, and every
attachment's filename, content type and exact size, lives only in here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

from crypto import DecryptionError, decrypt_padded, encrypt_padded

PAYLOAD_VERSION = 1


@dataclass(frozen=True)
class AttachmentMeta:
    attachment_id: str
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ItemPayload:
    # Structured form answers keyed by field name (see intake.questions).
    fields: dict[str, str] = field(default_factory=dict)
    message: str = ""
    attachments: tuple[AttachmentMeta, ...] = ()

    def to_json(self) -> bytes:
        document = {"v": PAYLOAD_VERSION, **asdict(self)}
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, plaintext: bytes) -> ItemPayload:
        try:
            document = json.loads(plaintext)
            if document.pop("v") != PAYLOAD_VERSION:
                raise ValueError("unknown item payload version")
            return cls(
                fields={str(k): str(v) for k, v in document["fields"].items()},
                message=str(document["message"]),
                attachments=tuple(AttachmentMeta(**meta) for meta in document["attachments"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # Authenticated ciphertext that does not parse is still unreadable
            # to the caller: one error type for every way decryption fails.
            raise DecryptionError from error


def seal_item(payload: ItemPayload, recipients: Sequence[str]) -> bytes:
    return encrypt_padded(payload.to_json(), recipients)


def open_item(ciphertext: bytes, identities: Sequence[str]) -> ItemPayload:
    return ItemPayload.from_json(decrypt_padded(ciphertext, identities))
