"""The strict shape check for ciphertext made outside the server (crypto.age_header).

It cannot decrypt, so it must refuse every file whose shape is wrong and
accept exactly what a standard age implementation makes from padded
plaintext for the expected number of X25519 recipients.
"""

from __future__ import annotations

import subprocess

import pyrage
import pytest

from crypto import generate_identity, pad
from crypto.age_header import (
    MalformedAgeFile,
    check_age_file,
    is_padded_length,
    max_ciphertext_length,
    max_header_length,
    parse_header,
    payload_plaintext_length,
)
from tests.crypto.test_age_vectors import TESTKIT, load_vector

# Payload failures visible from the length alone.
REFUSED_BY_LENGTH = {
    "stream_last_chunk_empty",
    "stream_missing_tag",
    "stream_no_chunks",
    "stream_short_chunk",
    "stream_short_second_chunk",
    "stream_trailing_garbage_short",
    "stream_no_nonce",
    "stream_short_nonce",
}


def age_cli_encrypt(plaintext: bytes, recipients: list[str]) -> bytes:
    arguments = ["age", "--encrypt"]
    for recipient in recipients:
        arguments += ["-r", recipient]
    return subprocess.run(arguments, input=plaintext, capture_output=True, check=True).stdout


def check(ciphertext: bytes, recipients: int) -> None:
    check_age_file(ciphertext[: max_header_length(recipients)], len(ciphertext), recipients)


@pytest.mark.parametrize("recipients", [1, 3])
@pytest.mark.parametrize("content_length", [0, 5000, 200_000])
def test_padded_file_from_the_age_cli_is_accepted(recipients: int, content_length: int) -> None:
    keys = [generate_identity().recipient for _ in range(recipients)]
    padded = pad(b"\x42" * content_length)
    ciphertext = age_cli_encrypt(padded, keys)

    shape = check_age_file(ciphertext[: max_header_length(recipients)], len(ciphertext), recipients)

    assert shape.x25519_stanzas == recipients
    assert shape.plaintext_length == len(padded)
    assert len(ciphertext) <= max_ciphertext_length(content_length, recipients)


def test_fewer_stanzas_than_recipients_is_refused() -> None:
    ciphertext = age_cli_encrypt(pad(b"x"), [generate_identity().recipient])
    with pytest.raises(MalformedAgeFile, match="fewer stanzas"):
        check(ciphertext, 2)


def test_more_stanzas_than_recipients_is_refused() -> None:
    keys = [generate_identity().recipient for _ in range(3)]
    ciphertext = age_cli_encrypt(pad(b"x"), keys)
    with pytest.raises(MalformedAgeFile, match="more stanzas"):
        check_age_file(ciphertext, len(ciphertext), 2)


def test_unpadded_plaintext_is_refused() -> None:
    ciphertext = age_cli_encrypt(b"a secret of telling length", [generate_identity().recipient])
    with pytest.raises(MalformedAgeFile, match="padding bucket"):
        check(ciphertext, 1)


def test_truncated_last_chunk_is_refused() -> None:
    ciphertext = age_cli_encrypt(pad(b"x" * 70_000), [generate_identity().recipient])
    header_length, _ = parse_header(ciphertext, 1)
    # Given a second chunk cut to 10 bytes, shorter than its tag
    cut = header_length + 16 + 64 * 1024 + 16 + 10
    with pytest.raises(MalformedAgeFile, match="whole number of chunks"):
        check(ciphertext[:cut], 1)


def test_missing_payload_nonce_is_refused() -> None:
    ciphertext = age_cli_encrypt(pad(b"x"), [generate_identity().recipient])
    header_length, _ = parse_header(ciphertext, 1)
    with pytest.raises(MalformedAgeFile, match="nonce"):
        check(ciphertext[: header_length + 8], 1)


def test_header_cut_before_the_mac_line_is_refused() -> None:
    ciphertext = age_cli_encrypt(pad(b"x"), [generate_identity().recipient])
    with pytest.raises(MalformedAgeFile, match="truncated"):
        check(ciphertext[:60], 1)


def test_grease_stanza_as_rage_writes_it_is_refused() -> None:
    # rage (pyrage) adds a random "grease" stanza to some files; our script never does.
    recipients = [pyrage.x25519.Recipient.from_str(generate_identity().recipient)]
    greased = 0
    for _ in range(30):
        ciphertext = pyrage.encrypt(pad(b"x"), recipients)
        header = ciphertext.split(b"\n---")[0]
        if any(
            line.startswith(b"-> ") and not line.startswith(b"-> X25519 ") for line in header.split(b"\n")
        ):
            greased += 1
            with pytest.raises(MalformedAgeFile, match="only X25519"):
                check_age_file(ciphertext, len(ciphertext), 1)
    assert greased, "rage wrote no grease stanza in 30 files"


def test_padding_buckets_are_recognised() -> None:
    assert is_padded_length(1024)
    assert is_padded_length(len(pad(b"x" * 10_000)))
    assert not is_padded_length(1023)
    assert not is_padded_length(10_001)


def vector_names(expect: str) -> list[str]:
    return sorted(
        path.name
        for path in TESTKIT.iterdir()
        if path.name != "FORMAT.md" and load_vector(path).first("expect") == expect
    )


@pytest.mark.parametrize("name", vector_names("header failure"))
def test_header_failure_vectors_are_refused(name: str) -> None:
    # Even a low-order share (x25519_low_order, x25519_identity) shows without a key.
    vector = load_vector(TESTKIT / name)
    with pytest.raises(MalformedAgeFile):
        header_length, _ = parse_header(vector.age_file, 10)
        payload_plaintext_length(len(vector.age_file) - header_length - 16)


@pytest.mark.parametrize("name", sorted(REFUSED_BY_LENGTH))
def test_payload_vectors_with_an_impossible_length_are_refused(name: str) -> None:
    vector = load_vector(TESTKIT / name)
    header_length, _ = parse_header(vector.age_file, 1)
    with pytest.raises(MalformedAgeFile):
        payload_plaintext_length(len(vector.age_file) - header_length - 16)


@pytest.mark.parametrize(
    "name", [name for name in vector_names("success") if name.startswith(("x25519", "stream_"))]
)
def test_x25519_success_vectors_pass_the_structural_checks(name: str) -> None:
    vector = load_vector(TESTKIT / name)
    if name == "x25519_grease":
        with pytest.raises(MalformedAgeFile):
            parse_header(vector.age_file, 10)
        return
    header_length, stanzas = parse_header(vector.age_file, 10)
    assert stanzas >= 1
    payload_plaintext_length(len(vector.age_file) - header_length - 16)
