"""Padmé padding: bucket sizes, strict unpadding, and the streaming twins."""

import io
import itertools
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import DecryptionError, PaddingReader, UnpaddingWriter, pad, padded_length, unpad
from crypto.padding import MIN_PADDED_LENGTH, padme


@given(st.binary(max_size=5000))
def test_pad_then_unpad_returns_the_data(data: bytes) -> None:
    padded = pad(data)
    assert len(padded) == padded_length(len(data))
    assert unpad(padded) == data


@given(st.integers(min_value=0, max_value=2**40))
def test_padded_length_bounds(n: int) -> None:
    padded = padded_length(n)
    assert padded >= max(n + 1, MIN_PADDED_LENGTH)
    if n + 1 > MIN_PADDED_LENGTH:
        assert padded <= (n + 1) * 1.12
    assert padded_length(padded - 1) == padded


def padme_as_published(length: int) -> int:
    """Algorithm 1 of the PURBs paper, transcribed with its floating-point logs."""
    exponent = math.floor(math.log2(length))
    mantissa_bits = math.floor(math.log2(exponent)) + 1
    mask = (1 << (exponent - mantissa_bits)) - 1
    return (length + mask) & ~mask


@given(st.integers(min_value=2, max_value=2**40))
def test_padme_matches_the_published_algorithm(length: int) -> None:
    assert padme(length) == padme_as_published(length)


def test_padme_known_values() -> None:
    lengths = (0, 1, 2, 3, 9, 17, 33, 100, 1000, 10_000)
    assert [padme(n) for n in lengths] == [0, 1, 2, 3, 10, 18, 36, 104, 1024, 10_240]


def test_short_messages_all_share_the_smallest_bucket() -> None:
    assert {padded_length(n) for n in range(MIN_PADDED_LENGTH)} == {MIN_PADDED_LENGTH}


def test_sizes_up_to_a_gigabyte_share_fewer_than_600_buckets() -> None:
    buckets = 0
    size = 0
    while size < 1 << 30:
        # Every size from `size` up to the bucket's own length pads to that length.
        size = padded_length(size)
        buckets += 1
    assert buckets < 600


def test_missing_marker() -> None:
    with pytest.raises(DecryptionError):
        unpad(b"content without padding")


def test_all_zeros() -> None:
    with pytest.raises(DecryptionError):
        unpad(bytes(MIN_PADDED_LENGTH))


def test_empty() -> None:
    with pytest.raises(DecryptionError):
        unpad(b"")


def test_garbage_after_marker() -> None:
    with pytest.raises(DecryptionError):
        unpad(b"content\x80\x00\x00\x01\x00")


def test_content_may_itself_end_in_marker_and_zero_bytes() -> None:
    tricky = b"\x00\x80\x00\x80\x00\x00"
    assert unpad(pad(tricky)) == tricky


def padded_from_chunks(data: bytes, source_chunks: list[int], read_sizes: list[int]) -> bytes:
    reader = PaddingReader(ChunkedReader(data, source_chunks))
    output = bytearray()
    index = 0
    while chunk := reader.read(read_sizes[index % len(read_sizes)]):
        output += chunk
        index += 1
    return bytes(output)


class ChunkedReader:
    """A source that returns short reads of the given sizes, as sockets do."""

    def __init__(self, data: bytes, sizes: list[int]) -> None:
        self._data = io.BytesIO(data)
        self._sizes = sizes
        self._calls = 0

    def read(self, size: int) -> bytes:
        limit = self._sizes[self._calls % len(self._sizes)]
        self._calls += 1
        return self._data.read(min(size, limit))


def split(data: bytes, cut_points: list[int]) -> list[bytes]:
    cuts = sorted({0, len(data), *(point % (len(data) + 1) for point in cut_points)})
    return [data[start:end] for start, end in itertools.pairwise(cuts)]


@given(
    data=st.binary(max_size=5000),
    source_chunks=st.lists(st.integers(1, 3000), min_size=1, max_size=8),
    read_sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=8),
)
def test_padding_reader_emits_exactly_pad(
    data: bytes, source_chunks: list[int], read_sizes: list[int]
) -> None:
    assert padded_from_chunks(data, source_chunks, read_sizes) == pad(data)


@given(data=st.binary(max_size=5000), cut_points=st.lists(st.integers(0, 10_000), max_size=10))
def test_unpadding_writer_recovers_the_data_from_any_chunking(data: bytes, cut_points: list[int]) -> None:
    sink = io.BytesIO()
    writer = UnpaddingWriter(sink)
    for piece in split(pad(data), cut_points):
        assert writer.write(piece) == len(piece)
    writer.finish()
    assert sink.getvalue() == data


@given(
    stream=st.lists(st.sampled_from([b"\x00", b"\x80", b"a", b"\x00\x00\x00", b"\x80\x00"]), max_size=30).map(
        b"".join
    ),
    cut_points=st.lists(st.integers(0, 100), max_size=6),
)
def test_unpadding_writer_agrees_with_unpad_on_any_input(stream: bytes, cut_points: list[int]) -> None:
    sink = io.BytesIO()
    writer = UnpaddingWriter(sink)
    for piece in split(stream, cut_points):
        writer.write(piece)
    try:
        expected = unpad(stream)
    except DecryptionError:
        with pytest.raises(DecryptionError):
            writer.finish()
    else:
        writer.finish()
        assert sink.getvalue() == expected


class RecordingSink:
    def __init__(self) -> None:
        self.largest_write = 0
        self.total = 0

    def write(self, data: bytes) -> int:
        self.largest_write = max(self.largest_write, len(data))
        self.total += len(data)
        return len(data)


def test_unpadding_writer_counts_zero_runs_instead_of_buffering_them() -> None:
    # Given a marker followed by 10 MiB of zeros that turn out to be content
    sink = RecordingSink()
    writer = UnpaddingWriter(sink)
    writer.write(b"\x80")
    for _ in range(160):
        writer.write(bytes(64 * 1024))
    assert sink.total == 0
    # When a non-zero byte arrives, the held-back run is released in bounded writes
    writer.write(b"x\x80")
    writer.finish()
    assert sink.total == 1 + 160 * 64 * 1024 + 1
    assert sink.largest_write <= 64 * 1024


def test_unpadding_writer_finish_without_marker() -> None:
    writer = UnpaddingWriter(io.BytesIO())
    writer.write(b"data\x00\x00")
    with pytest.raises(DecryptionError):
        writer.finish()


def test_padding_reader_refuses_unbounded_reads() -> None:
    with pytest.raises(ValueError):
        PaddingReader(io.BytesIO(b"x")).read(-1)
    assert PaddingReader(io.BytesIO(b"x")).read(0) == b""
