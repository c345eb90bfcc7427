"""The plaintext format inside every item: round trips, and one error for anything unreadable."""

from __future__ import annotations

import pytest

from crypto import DecryptionError, encrypt_padded, generate_identity
from intake.services.items import AttachmentMeta, ItemPayload, open_item, seal_item


def test_payload_round_trips_through_age() -> None:
    reader = generate_identity()
    payload = ItemPayload(
        fields={"country": "Україна"},
        message="Помогите",
        attachments=(AttachmentMeta("a1", "повестка.pdf", "application/pdf", 13),),
    )
    assert open_item(seal_item(payload, [reader.recipient]), [reader.secret]) == payload


@pytest.mark.parametrize(
    "plaintext",
    [
        b"not json",
        b'{"v": 2, "fields": {}, "message": "", "attachments": []}',
        b'{"fields": {}, "message": "", "attachments": []}',
        b'{"v": 1, "fields": [], "message": "", "attachments": []}',
        b'{"v": 1, "fields": {}, "message": "", "attachments": [{"unexpected": 1}]}',
        "\ufffe".encode("utf-16"),
    ],
    ids=["not-json", "unknown-version", "no-version", "fields-not-a-map", "bad-attachment", "not-utf8"],
)
def test_authentic_but_malformed_plaintext_is_a_decryption_error(plaintext: bytes) -> None:
    # Given ciphertext that decrypts fine but does not hold a payload we wrote
    reader = generate_identity()
    ciphertext = encrypt_padded(plaintext, [reader.recipient])
    # Then the caller sees the one decryption error, nothing more specific
    with pytest.raises(DecryptionError):
        open_item(ciphertext, [reader.secret])


def test_wrong_key_is_the_same_decryption_error() -> None:
    payload = ItemPayload(message="x")
    with pytest.raises(DecryptionError):
        open_item(seal_item(payload, [generate_identity().recipient]), [generate_identity().secret])
