"""Bech32 (BIP-173), the text encoding of age keys.

age uses original Bech32, not Bech32m, and no 90-character limit; its keys are
short enough that the limit never matters here, so it is not enforced.
"""

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_CHECKSUM_LENGTH = 6


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                checksum ^= generator
    return checksum


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(char) >> 5 for char in hrp] + [0] + [ord(char) & 31 for char in hrp]


def _regroup(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    accumulator = 0
    bits = 0
    groups = []
    max_value = (1 << to_bits) - 1
    for value in data:
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            groups.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            groups.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (accumulator << (to_bits - bits)) & max_value:
        raise ValueError("invalid bech32 padding")
    return groups


def encode(hrp: str, data: bytes) -> str:
    """Encode `data` under a lower-case human-readable part."""
    words = _regroup(data, 8, 5, pad=True)
    checksum = _polymod(_expand_hrp(hrp) + words + [0] * _CHECKSUM_LENGTH) ^ 1
    checksum_words = [(checksum >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LENGTH)]
    return hrp + "1" + "".join(_CHARSET[word] for word in words + checksum_words)


def decode(text: str) -> tuple[str, bytes]:
    """Return the lower-cased human-readable part and the data; ValueError if malformed."""
    if not text.isascii() or any(not 33 <= ord(char) <= 126 for char in text):
        raise ValueError("bech32 text has characters outside printable ASCII")
    if text.lower() != text and text.upper() != text:
        raise ValueError("bech32 text mixes upper and lower case")
    lowered = text.lower()
    separator = lowered.rfind("1")
    if separator < 1 or separator + _CHECKSUM_LENGTH + 1 > len(lowered):
        raise ValueError("bech32 separator misplaced")
    hrp = lowered[:separator]
    try:
        words = [_CHARSET.index(char) for char in lowered[separator + 1 :]]
    except ValueError:
        raise ValueError("bech32 data has a character outside its alphabet") from None
    if _polymod(_expand_hrp(hrp) + words) != 1:
        raise ValueError("bech32 checksum mismatch")
    return hrp, bytes(_regroup(words[:-_CHECKSUM_LENGTH], 5, 8, pad=False))
