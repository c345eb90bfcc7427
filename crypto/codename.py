"""Submitter codenames: diceware words that are both a login and a key.

Derivation (version 1): seed = Argon2id(normalised codename as UTF-8,
instance salt, params); lookup_id = hex(HKDF-SHA256(seed,
"intake/codename/v1/lookup-id")); X25519 secret = HKDF-SHA256(seed,
"intake/codename/v1/x25519"). HKDF makes the two independent, so the stored
lookup id reveals nothing about the key.
"""

import re
import secrets
from dataclasses import dataclass
from importlib import resources

from crypto.identity import Identity, identity_from_bytes
from crypto.kdf import PRODUCTION_KDF, KdfParams, argon2id, hkdf_sha256

# 7 words from 7772 give 7 * log2(7772) ≈ 90.5 bits.
DEFAULT_WORDS = 7
MIN_WORDS = 7
MAX_WORDS = 16
MIN_INSTANCE_SALT_LENGTH = 16
# Whitespace, commas, and hyphens of every kind (phones turn "-" into an en dash).
_SEPARATORS = re.compile(r"[\s,\-\u2010-\u2015\u2212]+")
# The EFF large list less its four hyphenated words (drop-down, felt-tip,
# t-shirt, yo-yo), since a hyphen separates words here.
_WORDLIST = tuple(
    resources.files("crypto").joinpath("wordlists/eff_large_wordlist.txt").read_text("utf-8").split()
)
_KNOWN_WORDS = frozenset(_WORDLIST)


class InvalidCodename(ValueError):
    """The text cannot be a codename. The message is safe to show the submitter
    and to log: it never repeats what they typed."""


@dataclass(frozen=True)
class CodenameKeys:
    lookup_id: str
    identity: Identity


def generate_codename(words: int = DEFAULT_WORDS) -> str:
    if not MIN_WORDS <= words <= MAX_WORDS:
        raise ValueError(f"a codename has between {MIN_WORDS} and {MAX_WORDS} words")
    return " ".join(secrets.choice(_WORDLIST) for _ in range(words))


def normalise_codename(text: str) -> str:
    """The canonical spelling: lower case, words separated by single spaces.

    Checks the words against the list so a typo fails here, before Argon2.
    """
    words = _SEPARATORS.sub(" ", text.casefold()).split()
    if len(words) < MIN_WORDS:
        raise InvalidCodename(f"A codename has at least {MIN_WORDS} words; this has {len(words)}.")
    if len(words) > MAX_WORDS:
        raise InvalidCodename(f"A codename has at most {MAX_WORDS} words; this has {len(words)}.")
    for position, word in enumerate(words, start=1):
        if word not in _KNOWN_WORDS:
            raise InvalidCodename(f"Word {position} is not in the codename word list.")
    return " ".join(words)


def derive_codename_keys(
    codename: str, instance_salt: bytes, params: KdfParams = PRODUCTION_KDF
) -> CodenameKeys:
    if len(instance_salt) < MIN_INSTANCE_SALT_LENGTH:
        raise ValueError(f"instance salt must be at least {MIN_INSTANCE_SALT_LENGTH} bytes")
    seed = argon2id(normalise_codename(codename).encode("utf-8"), instance_salt, params)
    lookup_id = hkdf_sha256(seed, b"intake/codename/v1/lookup-id").hex()
    identity = identity_from_bytes(hkdf_sha256(seed, b"intake/codename/v1/x25519"))
    return CodenameKeys(lookup_id=lookup_id, identity=identity)
