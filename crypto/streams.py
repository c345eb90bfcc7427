"""The two duck types the streaming functions accept."""

from typing import Protocol


class Reader(Protocol):
    """Anything with `read(size)` returning at most `size` bytes, and b"" only at the end."""

    def read(self, size: int, /) -> bytes: ...


class Writer(Protocol):
    """Anything with `write(data)`; a return value below len(data) means a partial write."""

    def write(self, data: bytes, /) -> int | None: ...


def write_all(writer: Writer, data: bytes) -> None:
    """Write all of `data`, going round again after a partial write."""
    while data:
        written = writer.write(data)
        if written is None or written == len(data):
            return
        if not 0 < written < len(data):
            raise OSError(f"writer reported writing {written} of {len(data)} bytes")
        data = data[written:]
