"""The single exception for every decryption failure."""


class DecryptionError(Exception):
    """Raised when anything that should decrypt does not.

    Wrong key, wrong passphrase, wrong context, tampering, truncation, bad
    padding and data that is not ours all look the same to the caller, so a
    failure never tells an attacker which check they got past.
    """

    def __init__(self) -> None:
        super().__init__("decryption failed")
