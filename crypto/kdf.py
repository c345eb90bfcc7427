"""Key derivation: Argon2id for human secrets, HKDF-SHA256 for machine keys."""

from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

DERIVED_KEY_LENGTH = 32
MIN_MASTER_SECRET_LENGTH = 32
# Generous for raising costs later, yet a tampered blob or a mistyped config
# cannot make one unlock hold the CPU for minutes or allocate gigabytes.
MAX_TIME_COST = 10
MAX_MEMORY_COST_KIB = 1024 * 1024
MAX_PARALLELISM = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id costs; checked on construction so absurd values never reach Argon2."""

    time_cost: int
    memory_cost_kib: int
    parallelism: int

    def __post_init__(self) -> None:
        if not 1 <= self.time_cost <= MAX_TIME_COST:
            raise ValueError(f"time_cost must be between 1 and {MAX_TIME_COST}")
        if not 1 <= self.parallelism <= MAX_PARALLELISM:
            raise ValueError(f"parallelism must be between 1 and {MAX_PARALLELISM}")
        # Argon2 needs at least 8 KiB per lane.
        if not 8 * self.parallelism <= self.memory_cost_kib <= MAX_MEMORY_COST_KIB:
            raise ValueError(f"memory_cost_kib must be between 8 * parallelism and {MAX_MEMORY_COST_KIB}")


# RFC 9106, section 4, second recommended option (for memory-constrained settings).
PRODUCTION_KDF = KdfParams(time_cost=3, memory_cost_kib=64 * 1024, parallelism=4)
# Argon2's smallest legal costs: never use outside tests.
FAST_TEST_KDF = KdfParams(time_cost=1, memory_cost_kib=8, parallelism=1)


def argon2id(secret: bytes, salt: bytes, params: KdfParams) -> bytes:
    """A 32-byte key from a human-chosen secret."""
    return hash_secret_raw(
        secret=secret,
        salt=salt,
        time_cost=params.time_cost,
        memory_cost=params.memory_cost_kib,
        parallelism=params.parallelism,
        hash_len=DERIVED_KEY_LENGTH,
        type=Type.ID,
    )


def hkdf_sha256(key_material: bytes, info: bytes) -> bytes:
    """A 32-byte key from already uniform key material, separated by `info`."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=DERIVED_KEY_LENGTH, salt=None, info=info)
    return hkdf.derive(key_material)


def derive_subkey(master_secret: bytes, purpose: str) -> bytes:
    """An independent 32-byte key for one purpose (say "totp-at-rest") from a master secret."""
    if len(master_secret) < MIN_MASTER_SECRET_LENGTH:
        raise ValueError(f"master secret must be at least {MIN_MASTER_SECRET_LENGTH} bytes")
    if not purpose:
        raise ValueError("purpose must not be empty")
    return hkdf_sha256(master_secret, b"intake/subkey/v1/" + purpose.encode("utf-8"))
