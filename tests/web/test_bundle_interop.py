"""Ciphertext made by the browser bundle is what the server itself would store.

The committed bundle runs under Node: its output passes the server's shape
check, decrypts with the Python core and with the `age` CLI, and its padding
item payload and inbox summary are byte-for-byte twins of crypto/padding.py,
intake/services/items.py and intake/services/summaries.py.
"""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest

from crypto import decrypt_padded, generate_identity, padded_length, unpad
from crypto.age_header import check_age_file
from intake.services.items import AttachmentMeta, ItemPayload
from intake.services.summaries import summary_from_answers
from tests.web.bundle import run_bundle


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_padding_twin_matches_the_python_buckets() -> None:
    sizes = [*range(0, 3000), *(2**k + d for k in range(11, 41) for d in (-1, 0, 1, 12_345))]
    assert run_bundle("paddedLengths", sizes=sizes) == [padded_length(size) for size in sizes]


def test_item_payload_twin_matches_the_python_document() -> None:
    meta = AttachmentMeta("6f1c7c1e-8d7a-4c9f-9a57-0b9a5a1d2e3f", "видео «дом».mp4", "video/mp4", 1_234_567)
    payload = ItemPayload({"name": "Олена", "where": 'Київ "центр"\n\t\\'}, "Мне нужна помощь 🙏", (meta,))
    document = {
        "fields": payload.fields,
        "message": payload.message,
        "attachments": [meta.__dict__],
    }
    assert base64.b64decode(run_bundle("payload", payload=document)) == payload.to_json()


def test_summary_twin_matches_the_python_summary() -> None:
    # A country name longer than the summary keeps, with a character outside the BMP at the cut
    fields = {"help_kind": "relative_missing", "urgency": "danger_now", "country": "Грузія " * 14 + "🙏 кінець"}
    expected = summary_from_answers(fields, "uk").to_json()
    assert base64.b64decode(run_bundle("summary", fields=fields, language="uk")) == expected


@pytest.mark.parametrize("call", ["encryptBytes", "encryptStream"])
@pytest.mark.parametrize("size", [0, 1023, 70_000, 200_001])
def test_bundle_ciphertext_decrypts_with_python_and_the_age_cli(tmp_path: Path, call: str, size: int) -> None:
    lawyer, recovery = generate_identity(), generate_identity()
    plaintext = os.urandom(size)

    result = run_bundle(
        call, plaintext=b64(plaintext), recipients=[lawyer.recipient, recovery.recipient], pieces=10_000
    )

    if call == "encryptStream":
        ciphertext = base64.b64decode(result["ciphertext"])
        assert result["size"] == len(ciphertext), "the declared size must be exact: uploads announce it"
    else:
        ciphertext = base64.b64decode(result)
    check_age_file(ciphertext, len(ciphertext), expected_recipients=2)
    assert decrypt_padded(ciphertext, [lawyer.secret]) == plaintext
    key_file = tmp_path / "key.txt"
    key_file.write_text(recovery.secret + "\n")
    cli = subprocess.run(
        ["age", "--decrypt", "-i", str(key_file)], input=ciphertext, capture_output=True, check=True
    )
    assert unpad(cli.stdout) == plaintext
