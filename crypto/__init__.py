"""Intake's cryptographic core: pure functions, every key passed as an argument."""

from crypto.age_envelope import Decrypter, decrypt, decrypt_stream, decrypted_pieces, encrypt, encrypt_stream
from crypto.codename import (
    CODENAME_KDF,
    CURRENT_CODENAME_VERSION,
    CodenameKeys,
    CodenameVersion,
    InvalidCodename,
    derive_codename_keys,
    generate_codename,
    normalise_codename,
)
from crypto.envelope import (
    decrypt_padded,
    decrypt_padded_with,
    decrypt_stream_padded,
    decrypted_pieces_padded,
    encrypt_padded,
    encrypt_stream_padded,
)
from crypto.errors import DecryptionError
from crypto.fingerprint import fingerprint
from crypto.identity import (
    Identity,
    generate_identity,
    identity_from_bytes,
    identity_from_secret,
    is_valid_recipient,
)
from crypto.kdf import FAST_TEST_KDF, PRODUCTION_KDF, KdfParams, derive_subkey
from crypto.keywrap import kdf_params_of, unwrap_secret, wrap_secret
from crypto.padding import PaddingReader, UnpaddingWriter, pad, padded_length, unpad
from crypto.recovery import RecoveryShareError, combine_recovery_shares, split_recovery_key
from crypto.sealing import new_session_key, open_sealed, seal
from crypto.streams import Reader, Writer

__all__ = [
    "CODENAME_KDF",
    "CURRENT_CODENAME_VERSION",
    "FAST_TEST_KDF",
    "PRODUCTION_KDF",
    "CodenameKeys",
    "CodenameVersion",
    "DecryptionError",
    "Decrypter",
    "Identity",
    "InvalidCodename",
    "KdfParams",
    "PaddingReader",
    "Reader",
    "RecoveryShareError",
    "UnpaddingWriter",
    "Writer",
    "combine_recovery_shares",
    "decrypt",
    "decrypt_padded",
    "decrypt_padded_with",
    "decrypt_stream",
    "decrypt_stream_padded",
    "decrypted_pieces",
    "decrypted_pieces_padded",
    "derive_codename_keys",
    "derive_subkey",
    "encrypt",
    "encrypt_padded",
    "encrypt_stream",
    "encrypt_stream_padded",
    "fingerprint",
    "generate_codename",
    "generate_identity",
    "identity_from_bytes",
    "identity_from_secret",
    "is_valid_recipient",
    "kdf_params_of",
    "new_session_key",
    "normalise_codename",
    "open_sealed",
    "pad",
    "padded_length",
    "seal",
    "split_recovery_key",
    "unpad",
    "unwrap_secret",
    "wrap_secret",
]
