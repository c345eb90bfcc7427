"""The keyed digest of a sent form: pinned, keyed by the codename identity, unambiguous."""

from crypto import generate_identity, identity_from_bytes
from crypto.form_digest import form_digest, form_digest_key

# HKDF-SHA256(ikm=00..1f, salt=none, info="intake/form-digest/v1/key"), then
# HMAC-SHA256 over (8-byte big-endian length, bytes) of b"server", b"{}".
KNOWN_DIGEST = "e074788be6b2c18c32bb0e84810a1726b6681b0629718f64b64c735860a63dbc"


def test_the_digest_depends_on_the_codename_identity() -> None:
    parts = [b"server", b'{"message": "same words"}']
    first, second = generate_identity(), generate_identity()
    assert form_digest(form_digest_key(first), parts) != form_digest(form_digest_key(second), parts)
    assert form_digest(form_digest_key(first), parts) == form_digest(form_digest_key(first), list(parts))


def test_parts_are_not_ambiguous() -> None:
    key = form_digest_key(generate_identity())
    assert form_digest(key, [b"ab", b"c"]) != form_digest(key, [b"a", b"bc"])
    assert form_digest(key, [b"ab"]) != form_digest(key, [b"ab", b""])


def test_known_answer() -> None:
    identity = identity_from_bytes(bytes(range(32)))
    assert form_digest(form_digest_key(identity), [b"server", b"{}"]).hex() == KNOWN_DIGEST
