"""Submitter codenames: diceware words that are both a login and a key.

Derivation (version N): seed = Argon2id(normalised codename as UTF-8,
instance salt, the version's costs); lookup_id = hex(HKDF-SHA256(seed,
"intake/codename/vN/lookup-id")); X25519 secret = HKDF-SHA256(seed,
"intake/codename/vN/x25519"). HKDF makes the two independent, so the stored
lookup id reveals nothing about the key, and the labels keep each version's
lookup ids and keys apart from every other version's, even at equal costs.

Version 1 (t=3, 64 MiB, 4 lanes) made the first codenames; version 2 (t=1,
2 MiB, 1 lane) makes new ones. A codename of about 90 bits needs no more
stretching than that (docs/security.md, "Codename strength"), and 64 MiB per
submission was what anybody could make the server pay. A version's costs
never change: every codename issued under it is a lookup id under them.

Words come from one of several lists (English, Russian, Ukrainian); which one
a new codename uses is the caller's choice. Logging in accepts a word from any
list, however it was typed: the normalised form is the list's own spelling
(ё written as е), so every way of typing a word derives the same keys.
"""

import enum
import math
import re
import secrets
from dataclasses import dataclass
from importlib import resources

from crypto.identity import Identity, identity_from_bytes
from crypto.kdf import KdfParams, argon2id, hkdf_sha256

MIN_WORDS = 7
MAX_WORDS = 16
MIN_INSTANCE_SALT_LENGTH = 16
# The strength of the first codenames: 7 words from the 7772 English words.
TARGET_BITS = 7 * math.log2(7772)
# Whitespace, commas, and hyphens of every kind (phones turn "-" into an en dash).
_SEPARATORS = re.compile(r"[\s,\-\u2010-\u2015\u2212]+")
# Letters that are easy to type in the wrong alphabet or to mistake for
# another (upper-case Latin B, H, K, M, T look like Cyrillic В, Н, К, М, Т),
# each folded to one letter so that any of them finds the word.
_LOOK_ALIKES = str.maketrans(
    {
        "a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "i": "і", "ï": "і", "k": "к", "m": "м",
        "o": "о", "p": "р", "t": "т", "x": "х", "y": "у", "ё": "е", "й": "и", "ї": "і", "ґ": "г",
    }
)


class CodenameVersion(enum.IntEnum):
    """Which derivation turned a codename into its lookup id and key."""

    V1 = 1
    V2 = 2


CURRENT_CODENAME_VERSION = CodenameVersion.V2
# Written out rather than taken from kdf.PRODUCTION_KDF: raising the lawyers'
# passphrase costs one day must not lock out every version 1 codename.
CODENAME_KDF = {
    CodenameVersion.V1: KdfParams(time_cost=3, memory_cost_kib=64 * 1024, parallelism=4),
    CodenameVersion.V2: KdfParams(time_cost=1, memory_cost_kib=2 * 1024, parallelism=1),
}


class InvalidCodename(ValueError):
    """The text cannot be a codename. The message is safe to show the submitter
    and to log: it never repeats what they typed."""


class UnknownCodenameWord(InvalidCodename):
    """One word is in no list. `typed` and `suggestion` are for the submitter's
    own page only, never for a log; `str()` names just the position."""

    def __init__(self, position: int, typed: str, suggestion: str) -> None:
        super().__init__(f"Word {position} is not in the codename word list.")
        self.position = position
        self.typed = typed
        self.suggestion = suggestion


@dataclass(frozen=True)
class Wordlist:
    language: str
    words: tuple[str, ...]

    @property
    def words_per_codename(self) -> int:
        """The fewest words that reach the strength of the first codenames."""
        return max(MIN_WORDS, math.ceil(TARGET_BITS / math.log2(len(self.words)) - 1e-9))

    @property
    def bits(self) -> float:
        return self.words_per_codename * math.log2(len(self.words))


@dataclass(frozen=True)
class CodenameKeys:
    lookup_id: str
    identity: Identity
    version: CodenameVersion


def word_skeleton(word: str) -> str:
    """The form words are compared in: case, ё/е, й/и, ї/і and look-alike letters folded."""
    return word.casefold().translate(_LOOK_ALIKES)


def _load(language: str, filename: str) -> Wordlist:
    text = resources.files("crypto").joinpath(f"wordlists/{filename}").read_text("utf-8")
    return Wordlist(language=language, words=tuple(text.split()))


# The EFF large list less its four hyphenated words (drop-down, felt-tip,
# t-shirt, yo-yo), since a hyphen separates words here.
ENGLISH = _load("en", "eff_large_wordlist.txt")
RUSSIAN = _load("ru", "ru.txt")
UKRAINIAN = _load("uk", "uk.txt")
WORDLISTS = (ENGLISH, RUSSIAN, UKRAINIAN)
# Skeleton -> the spelling fed to Argon2. English words are their own
# spelling, so codenames issued before the other lists derive as they did.
_CANONICAL = {
    word_skeleton(word): word.replace("ё", "е") for wordlist in WORDLISTS for word in wordlist.words
}
# For suggestions: (skeleton, word, language) of every list word, indexed by the
# skeleton with any one letter deleted, and by the first one and two letters.
_ALL_ENTRIES = tuple(
    (word_skeleton(word), word, wordlist.language) for wordlist in WORDLISTS for word in wordlist.words
)
_BY_DELETION: dict[str, list[tuple[str, str, str]]] = {}
_BY_BEGINNING: dict[str, list[tuple[str, str, str]]] = {}
for _entry in _ALL_ENTRIES:
    for _key in {_entry[0], *{_entry[0][:i] + _entry[0][i + 1 :] for i in range(len(_entry[0]))}}:
        _BY_DELETION.setdefault(_key, []).append(_entry)
    for _beginning in {_entry[0][:1], _entry[0][:2]}:
        _BY_BEGINNING.setdefault(_beginning, []).append(_entry)
_LANGUAGES_OF: dict[str, set[str]] = {}
for _entry in _ALL_ENTRIES:
    _LANGUAGES_OF.setdefault(_entry[1].replace("ё", "е"), set()).add(_entry[2])
_LONGEST_WORD = max(len(word) for wordlist in WORDLISTS for word in wordlist.words)


def generate_codename(wordlist: Wordlist = ENGLISH, words: int | None = None) -> str:
    count = wordlist.words_per_codename if words is None else words
    if not MIN_WORDS <= count <= MAX_WORDS:
        raise ValueError(f"a codename has between {MIN_WORDS} and {MAX_WORDS} words")
    return " ".join(secrets.choice(wordlist.words) for _ in range(count))


def normalise_codename(text: str) -> str:
    """The canonical spelling: each word as its list spells it, single spaces between.

    Checks the words against the lists so a typo fails here, before Argon2.
    """
    words = _SEPARATORS.sub(" ", text.casefold()).split()
    if len(words) < MIN_WORDS:
        raise InvalidCodename(f"A codename has at least {MIN_WORDS} words; this has {len(words)}.")
    if len(words) > MAX_WORDS:
        raise InvalidCodename(f"A codename has at most {MAX_WORDS} words; this has {len(words)}.")
    canonical = [_CANONICAL.get(word_skeleton(word)) for word in words]
    for position, (word, known) in enumerate(zip(words, canonical, strict=True), start=1):
        if known is None:
            others = [other for other in canonical if other is not None]
            raise UnknownCodenameWord(position, word, closest_word(word, others))
    return " ".join(word for word in canonical if word is not None)


def closest_word(typed: str, context: list[str]) -> str:
    """The list word nearest to `typed` by edit distance, preferring the lists `context` came from.

    Cheap whatever is typed: words one edit away are found through an index
    of every word with one letter deleted; failing that, only words with the
    same first two letters (or first letter) are compared.
    """
    skeleton = word_skeleton(typed)[: _LONGEST_WORD + 2]
    languages = {language for word in context for language in _LANGUAGES_OF.get(word, ())}
    nearby = {entry for key in {skeleton, *_deletions(skeleton)} for entry in _BY_DELETION.get(key, ())}
    if not nearby:
        nearby = set(_BY_BEGINNING.get(skeleton[:2]) or _BY_BEGINNING.get(skeleton[:1]) or ())
    if not nearby:
        # Not even the first letter is a list letter (a digit, another script): no word is
        # meaningfully close, so name one of about the same length.
        return min(_ALL_ENTRIES, key=lambda entry: (abs(len(entry[0]) - len(skeleton)), entry[1]))[1]
    preferred = [entry for entry in nearby if entry[2] in languages] or list(nearby)
    return min(
        preferred,
        key=lambda entry: (_edit_distance(skeleton, entry[0]), -_common_prefix(skeleton, entry[0]), entry[1]),
    )[1]


def _deletions(skeleton: str) -> set[str]:
    return {skeleton[:i] + skeleton[i + 1 :] for i in range(len(skeleton))}


def _common_prefix(first: str, second: str) -> int:
    """How many first letters agree: people mistype the end of a word more often than its start."""
    return next(
        (i for i, (a, b) in enumerate(zip(first, second, strict=False)) if a != b), min(len(first), len(second))
    )


def _edit_distance(first: str, second: str) -> int:
    """Levenshtein distance counting a swap of two neighbouring letters as one edit."""
    previous_row: list[int] = []
    row = list(range(len(second) + 1))
    for i, letter in enumerate(first, start=1):
        before, previous_row, row = previous_row, row, [i] + [0] * len(second)
        for j, other in enumerate(second, start=1):
            row[j] = min(
                previous_row[j] + 1,
                row[j - 1] + 1,
                previous_row[j - 1] + (letter != other),
            )
            if i > 1 and j > 1 and letter == second[j - 2] and first[i - 2] == other:
                row[j] = min(row[j], before[j - 2] + 1)
    return row[-1]


def derive_codename_keys(
    codename: str, instance_salt: bytes, version: CodenameVersion, params: KdfParams | None = None
) -> CodenameKeys:
    """The lookup id and key of `codename` under `version`, at the version's own costs.

    `params` replaces those costs for tests only; a codename derived at other
    costs is another lookup id.
    """
    if len(instance_salt) < MIN_INSTANCE_SALT_LENGTH:
        raise ValueError(f"instance salt must be at least {MIN_INSTANCE_SALT_LENGTH} bytes")
    costs = CODENAME_KDF[version] if params is None else params
    seed = argon2id(normalise_codename(codename).encode("utf-8"), instance_salt, costs)
    label = f"intake/codename/v{version.value}/".encode()
    lookup_id = hkdf_sha256(seed, label + b"lookup-id").hex()
    identity = identity_from_bytes(hkdf_sha256(seed, label + b"x25519"))
    return CodenameKeys(lookup_id=lookup_id, identity=identity, version=version)
