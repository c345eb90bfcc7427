"""The organisation's recovery key split among trustees as SLIP-39 shares.

The 32-byte X25519 secret of the recovery identity is the SLIP-39 master
secret, in a single group: any `threshold` of the `count` shares rebuild it,
fewer reveal nothing about it. Shares are 33-word mnemonics with their own
checksum, so a misspelt or missing word is caught before combining.
"""

from collections.abc import Sequence

import shamir_mnemonic

from crypto.identity import KEY_LENGTH, identity_from_bytes, identity_secret_bytes

MAX_SHARES = 16


class RecoveryShareError(ValueError):
    """The shares cannot rebuild the recovery key; the message says why, never a share's words."""


def split_recovery_key(identity_secret: str, threshold: int, count: int) -> list[str]:
    """Split an `AGE-SECRET-KEY-1…` into `count` shares, any `threshold` of which recover it."""
    if not 1 <= threshold <= count <= MAX_SHARES:
        raise ValueError(f"need 1 ≤ threshold ≤ count ≤ {MAX_SHARES}")
    if threshold == 1 and count > 1:
        # SLIP-39 forbids it: each share would be a full copy of the key.
        raise ValueError("threshold 1 is only allowed with a single share")
    master_secret = identity_secret_bytes(identity_secret)
    [member_shares] = shamir_mnemonic.generate_mnemonics(
        group_threshold=1, groups=[(threshold, count)], master_secret=master_secret
    )
    return [str(share) for share in member_shares]


def combine_recovery_shares(shares: Sequence[str]) -> str:
    """Rebuild the `AGE-SECRET-KEY-1…` from at least `threshold` shares of one split."""
    if isinstance(shares, str):
        raise TypeError("shares must be a sequence of strings, not a single string")
    if not shares:
        raise RecoveryShareError("No recovery shares were given.")
    for position, share in enumerate(shares, start=1):
        try:
            shamir_mnemonic.Share.from_mnemonic(share)
        except shamir_mnemonic.MnemonicError:
            raise RecoveryShareError(
                f"Share {position} is not valid: a word is misspelt, missing or out of order."
            ) from None
    try:
        groups = shamir_mnemonic.decode_mnemonics(shares)
    except shamir_mnemonic.MnemonicError:
        raise RecoveryShareError("The shares come from different recovery splits.") from None
    if len(groups) != 1:
        raise RecoveryShareError("The shares are not from a single-group recovery split.")
    [(group_index, group)] = groups.items()
    threshold = group.member_threshold()
    if len(group) < threshold:
        raise RecoveryShareError(f"{threshold} different shares are needed; {len(group)} were given.")
    try:
        master_secret = shamir_mnemonic.recover_ems({group_index: group.get_minimal_group()}).decrypt(b"")
    except shamir_mnemonic.MnemonicError:
        raise RecoveryShareError(
            "The shares do not combine: they come from different splits, or one was altered."
        ) from None
    if len(master_secret) != KEY_LENGTH:
        raise RecoveryShareError("These shares do not hold an age recovery key.")
    return identity_from_bytes(master_secret).secret
