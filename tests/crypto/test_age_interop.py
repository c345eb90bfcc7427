"""Interop with the reference `age` CLI, both ways, in memory and streaming, and with rage (pyrage).

rage is a third, independent implementation (Rust), and it adds random
"grease" stanzas to some files, which a reader must skip.
"""

import io
import random
import subprocess
from pathlib import Path

import pyrage
import pytest

from crypto import (
    Identity,
    decrypt,
    decrypt_stream,
    encrypt,
    encrypt_padded,
    encrypt_stream,
    identity_from_secret,
    pad,
)

pytestmark = pytest.mark.slow

CHUNK = 64 * 1024
SIZES = {"empty": 0, "small": 13, "one-chunk": CHUNK, "multi-chunk": 200 * 1024 + 1}


def sample(size: int) -> bytes:
    return random.Random(size).randbytes(size)


def write_identity_file(tmp_path: Path, identity: Identity) -> Path:
    key_file = tmp_path / "key.txt"
    key_file.write_text(f"# public key: {identity.recipient}\n{identity.secret}\n")
    return key_file


def age_decrypt(age_cli: Path, key_file: Path, ciphertext: bytes) -> bytes:
    result = subprocess.run(
        [age_cli, "--decrypt", "--identity", key_file], input=ciphertext, capture_output=True, check=True
    )
    return result.stdout


def age_encrypt(age_cli: Path, recipient: str, plaintext: bytes) -> bytes:
    result = subprocess.run(
        [age_cli, "--encrypt", "--recipient", recipient], input=plaintext, capture_output=True, check=True
    )
    return result.stdout


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_age_cli_decrypts_our_ciphertext(
    age_cli: Path, tmp_path: Path, identity: Identity, size: int
) -> None:
    plaintext = sample(size)
    ciphertext = encrypt(plaintext, [identity.recipient])
    assert age_decrypt(age_cli, write_identity_file(tmp_path, identity), ciphertext) == plaintext


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_we_decrypt_age_cli_ciphertext(age_cli: Path, identity: Identity, size: int) -> None:
    plaintext = sample(size)
    assert decrypt(age_encrypt(age_cli, identity.recipient, plaintext), [identity.secret]) == plaintext


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_age_cli_decrypts_our_stream(age_cli: Path, tmp_path: Path, identity: Identity, size: int) -> None:
    plaintext = sample(size)
    encrypted_file = tmp_path / "message.age"
    with encrypted_file.open("wb") as sink:
        encrypt_stream(io.BytesIO(plaintext), sink, [identity.recipient])
    assert (
        age_decrypt(age_cli, write_identity_file(tmp_path, identity), encrypted_file.read_bytes())
        == plaintext
    )


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_we_stream_decrypt_age_cli_file(age_cli: Path, tmp_path: Path, identity: Identity, size: int) -> None:
    plaintext = sample(size)
    encrypted_file = tmp_path / "message.age"
    subprocess.run(
        [age_cli, "--encrypt", "--recipient", identity.recipient, "--output", encrypted_file],
        input=plaintext,
        check=True,
    )
    decrypted_file = tmp_path / "message"
    with encrypted_file.open("rb") as source, decrypted_file.open("wb") as sink:
        decrypt_stream(source, sink, [identity.secret])
    assert decrypted_file.read_bytes() == plaintext


def test_every_recipient_can_decrypt_with_age_cli(
    age_cli: Path, tmp_path: Path, identity: Identity, other_identity: Identity
) -> None:
    ciphertext = encrypt(b"to both lawyers", [identity.recipient, other_identity.recipient])
    for index, each in enumerate([identity, other_identity]):
        key_dir = tmp_path / str(index)
        key_dir.mkdir()
        assert age_decrypt(age_cli, write_identity_file(key_dir, each), ciphertext) == b"to both lawyers"


def test_age_keygen_identity_parses_to_the_same_recipient(age_keygen_cli: Path, tmp_path: Path) -> None:
    key_file = tmp_path / "key.txt"
    subprocess.run([age_keygen_cli, "--output", key_file], check=True, capture_output=True)
    [secret] = [line for line in key_file.read_text().splitlines() if not line.startswith("#")]
    public = subprocess.run(
        [age_keygen_cli, "-y", key_file], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert identity_from_secret(secret).recipient == public


def test_age_cli_sees_padding_of_padded_ciphertext(age_cli: Path, tmp_path: Path, identity: Identity) -> None:
    # Why exports must be unpadded: plain `age -d` cannot know about our padding.
    ciphertext = encrypt_padded(b"help", [identity.recipient])
    assert age_decrypt(age_cli, write_identity_file(tmp_path, identity), ciphertext) == pad(b"help")


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_rage_decrypts_our_ciphertext(identity: Identity, size: int) -> None:
    plaintext = sample(size)
    ciphertext = encrypt(plaintext, [identity.recipient])
    assert pyrage.decrypt(ciphertext, [pyrage.x25519.Identity.from_str(identity.secret)]) == plaintext


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_we_decrypt_rage_ciphertext_grease_and_all(identity: Identity, size: int) -> None:
    plaintext = sample(size)
    recipient = pyrage.x25519.Recipient.from_str(identity.recipient)
    # rage greases some files only: enough of them that a grease stanza comes up.
    ciphertexts = [pyrage.encrypt(plaintext, [recipient]) for _ in range(20)]
    assert any(has_grease_stanza(ciphertext) for ciphertext in ciphertexts)
    for ciphertext in ciphertexts:
        assert decrypt(ciphertext, [identity.secret]) == plaintext


def has_grease_stanza(ciphertext: bytes) -> bool:
    header = ciphertext.split(b"\n---")[0]
    return any(line.startswith(b"-> ") and not line.startswith(b"-> X25519 ") for line in header.split(b"\n"))
