"""Every C2SP age test vector, through decrypt and decrypt_stream.

The vectors are copied unchanged from CCTV (see tests/data/age-testkit/FORMAT.md).
Features we do not offer are skipped by name, never dropped.
"""

import hashlib
import io
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from crypto import DecryptionError, decrypt, decrypt_stream, generate_identity

TESTKIT = Path(__file__).parent.parent / "data" / "age-testkit"
KNOWN_HEADER_KEYS = {
    "expect",
    "payload",
    "file key",
    "identity",
    "passphrase",
    "armored",
    "comment",
    "compressed",
}
NOT_OFFERED_PREFIXES = {"scrypt": "scrypt", "armor": "armor", "hybrid": "hybrid post-quantum recipients"}


@dataclass(frozen=True)
class Vector:
    name: str
    headers: dict[str, list[str]]
    age_file: bytes

    def first(self, key: str) -> str | None:
        values = self.headers.get(key)
        return values[0] if values else None


def load_vector(path: Path) -> Vector:
    raw = path.read_bytes()
    header_block, _, body = raw.partition(b"\n\n")
    headers: dict[str, list[str]] = {}
    for line in header_block.decode("utf-8").splitlines():
        key, _, value = line.partition(": ")
        headers.setdefault(key, []).append(value)
    if headers.get("compressed") == ["zlib"]:
        body = zlib.decompress(body)
    return Vector(path.name, headers, body)


def vector_names() -> list[str]:
    names = sorted(path.name for path in TESTKIT.iterdir() if path.name != "FORMAT.md")
    assert len(names) >= 140, "the age testkit is missing files"
    return names


def skip_reason(vector: Vector) -> str | None:
    unknown = set(vector.headers) - KNOWN_HEADER_KEYS
    if unknown:
        return f"unknown header keys {sorted(unknown)}: FORMAT.md says to ignore the file"
    for prefix, feature in NOT_OFFERED_PREFIXES.items():
        if vector.name.startswith(prefix):
            return f"{feature} not offered: {prefix}"
    if "passphrase" in vector.headers:
        return "passphrase recipients not offered: scrypt"
    if vector.first("armored") == "yes":
        return "ASCII armor not offered: armor"
    return None


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("name", vector_names())
def test_vector(name: str) -> None:
    vector = load_vector(TESTKIT / name)
    reason = skip_reason(vector)
    if reason is not None:
        pytest.skip(reason)
    # A vector without an identity ("empty") must fail before any key is tried.
    identities = vector.headers.get("identity") or [generate_identity().secret]
    expected_payload = vector.first("payload")

    if vector.first("expect") == "success":
        assert sha256_hex(decrypt(vector.age_file, identities)) == expected_payload
        released = io.BytesIO()
        decrypt_stream(io.BytesIO(vector.age_file), released, identities)
        assert sha256_hex(released.getvalue()) == expected_payload
        return

    with pytest.raises(DecryptionError):
        decrypt(vector.age_file, identities)
    # Streaming releases each chunk once authenticated: what reached the
    # writer before the failure must be exactly the vector's released payload.
    released = io.BytesIO()
    with pytest.raises(DecryptionError):
        decrypt_stream(io.BytesIO(vector.age_file), released, identities)
    if expected_payload is not None:
        assert sha256_hex(released.getvalue()) == expected_payload
    else:
        assert released.getvalue() == b""
