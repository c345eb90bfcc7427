"""A multipart/form-data body parsed as a stream, with no temporary file.

Werkzeug's own form parser spools every file part to a temporary file, which
here would be plaintext on disk. Instead our own streaming parser
(multipart_parser) is driven over the raw input stream: text fields are
collected in memory (each capped), and each file part is handed out as a
reader that pulls the body on demand, a chunk at a time, so the caller can
encrypt it on its way to the blob store. Every limit is enforced while
reading, before more of the body is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, TypeVar

from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected

from intake.services.multipart_parser import MultipartParser, MultipartSyntaxError, PartHeaders, TruncatedBody

_T = TypeVar("_T")

# As much as gunicorn reads ahead from the socket (SocketUnreader.max_body_chunk):
# a smaller read makes it copy the rest of its read-ahead buffer on every call,
# which with 64 KiB reads was half of an upload's CPU time.
READ_CHUNK_BYTES = 1024 * 1024
DEFAULT_CONTENT_TYPE = "application/octet-stream"
MAX_FILENAME_CHARS = 255
# What a file is called whose name had nothing printable left.
UNNAMED_FILE = "unnamed"


class MalformedUpload(ValueError):
    """The body is not a complete multipart form (truncated, garbled, or cut off)."""


class UploadInterrupted(MalformedUpload):
    """The body stopped arriving: the connection was cut, stalled, or its framing broke."""


# How a body breaks on its way in: Werkzeug's short read, a socket error or
# read timeout (OSError, TimeoutError), gunicorn's `NoMoreData` (an OSError)
# and its chunked-encoding errors (`InvalidChunkSize`, `ChunkMissingTerminator`…).
BODY_BROKEN = (ClientDisconnected, OSError, ParseException)


class UploadTooLarge(Exception):
    """A limit was crossed; `limit_bytes` is the size to tell the submitter, if a size was the limit."""

    def __init__(self, limit_bytes: int | None) -> None:
        super().__init__(limit_bytes)
        self.limit_bytes = limit_bytes


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    # All files together.
    max_files_total_bytes: int
    max_files: int
    max_text_field_bytes: int
    max_text_fields: int

    @property
    def max_body_bytes(self) -> int:
        # Files plus text fields plus generous room for part headers.
        return (
            self.max_files_total_bytes
            + self.max_text_field_bytes * self.max_text_fields
            + (self.max_files + self.max_text_fields) * 4096
        )


@dataclass(frozen=True)
class TextPart:
    name: str
    value: str


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str
    content_type: str
    reader: FileReader


class MultipartStream:
    """Yields the parts of one body in order; see `parts`."""

    def __init__(self, stream: IO[bytes], boundary: bytes, limits: UploadLimits) -> None:
        self._stream = stream
        self._limits = limits
        try:
            self._parser = MultipartParser(self._read_body, boundary)
        except MultipartSyntaxError as error:
            raise MalformedUpload(str(error)) from None
        self._body_bytes = 0
        self._file_count = 0
        self._text_count = 0
        self.files_total_bytes = 0

    def parts(self) -> Iterator[TextPart | FilePart]:
        """Text fields and files in body order.

        A FilePart's reader must be consumed before asking for the next part;
        whatever is left of it is skipped. File inputs left empty (no file
        chosen: an empty filename) are skipped entirely.
        """
        while (headers := self._parsed(self._parser.next_part)) is not None:
            if headers.filename is not None:
                part = self._file_part(headers, headers.filename)
                if part is None:
                    continue
                yield part
                part.reader.skip_rest()
            else:
                yield self._text_part(headers)

    def _file_part(self, headers: PartHeaders, raw_filename: str) -> FilePart | None:
        if not raw_filename:
            FileReader(self, max_bytes=0).skip_rest()
            return None
        # A name of spaces or control characters only is still a file the submitter chose.
        filename = clean_filename(raw_filename) or UNNAMED_FILE
        self._file_count += 1
        if self._file_count > self._limits.max_files:
            raise UploadTooLarge(None)
        return FilePart(
            name=headers.name,
            filename=filename,
            content_type=clean_content_type(headers.headers.get("content-type")),
            reader=FileReader(self, max_bytes=self._limits.max_file_bytes),
        )

    def _text_part(self, headers: PartHeaders) -> TextPart:
        self._text_count += 1
        if self._text_count > self._limits.max_text_fields:
            raise MalformedUpload("too many fields")
        value = bytearray()
        more = True
        while more:
            data, more = self.next_data()
            value += data
            if len(value) > self._limits.max_text_field_bytes:
                raise UploadTooLarge(self._limits.max_text_field_bytes)
        try:
            return TextPart(headers.name, value.decode("utf-8"))
        except UnicodeDecodeError:
            raise MalformedUpload("a text field is not UTF-8") from None

    def next_data(self) -> tuple[bytes, bool]:
        """The next piece of the current part, and whether more of it follows."""
        return self._parsed(self._parser.read_data)

    def _parsed(self, step: Callable[[], _T]) -> _T:
        # Reading the body stays outside this error mapping (`_read_body`
        # raises its own): a broken body is an interruption, not a malformed form.
        try:
            return step()
        except TruncatedBody:
            # The body ended (as its sender saw it) before the form did.
            raise UploadInterrupted("the body ended before the form") from None
        except MultipartSyntaxError as error:
            raise MalformedUpload(str(error)) from None

    def _read_body(self) -> bytes:
        try:
            chunk = self._stream.read(READ_CHUNK_BYTES)
        except BODY_BROKEN:
            raise UploadInterrupted("the body stopped arriving") from None
        self._body_bytes += len(chunk)
        if self._body_bytes > self._limits.max_body_bytes:
            raise UploadTooLarge(self._limits.max_files_total_bytes)
        return chunk

    def count_file_bytes(self, count: int) -> None:
        self.files_total_bytes += count
        if self.files_total_bytes > self._limits.max_files_total_bytes:
            raise UploadTooLarge(self._limits.max_files_total_bytes)


class FileReader:
    """The bytes of one file part, pulled from the body as they are read.

    `read(size)` returns at most `size` bytes and b"" at the end of the part,
    which is what the streaming encryptor (crypto.age_envelope) expects of a reader.
    """

    def __init__(self, stream: MultipartStream, max_bytes: int) -> None:
        self._stream = stream
        self._max_bytes = max_bytes
        self._pending = b""
        self._offset = 0
        self._finished = False
        self._counted = 0
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            raise ValueError("a file part is read in bounded chunks")
        while self._offset == len(self._pending) and not self._finished:
            self._take_next_chunk()
        chunk = self._pending[self._offset : self._offset + size]
        self._offset += len(chunk)
        return chunk

    def discard_rest(self) -> None:
        """Read the rest of an oversized part and forget it: none of it counts toward the total."""
        self._stream.files_total_bytes -= self._counted
        self._counted = 0
        while not self._finished:
            self._finished = not self._stream.next_data()[1]
        self._pending = b""
        self._offset = 0

    def skip_rest(self) -> None:
        while not self._finished:
            self._take_next_chunk()
        self._pending = b""
        self._offset = 0

    def _take_next_chunk(self) -> None:
        data, more = self._stream.next_data()
        self._finished = not more
        self._pending = data
        self._offset = 0
        self.size += len(data)
        if self.size > self._max_bytes:
            raise UploadTooLarge(self._max_bytes)
        self._counted += len(data)
        self._stream.count_file_bytes(len(data))


def form_boundary(mimetype: str, params: Mapping[str, str]) -> bytes:
    """The boundary of a multipart/form-data Content-Type.

    RFC 2046 boundaries are ASCII; Werkzeug decodes an RFC 2231 `boundary*=`
    to any character, which is no form's.
    """
    boundary = params.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary or not boundary.isascii():
        raise MalformedUpload("not a multipart form")
    return boundary.encode("ascii")


def clean_filename(raw: str) -> str:
    """The base name as the submitter saw it: no directories, no control characters."""
    # Old browsers send the full client path, with either separator.
    base = raw.replace("\\", "/").rsplit("/", 1)[-1]
    printable = "".join(char for char in base if char.isprintable())
    return printable.strip()[:MAX_FILENAME_CHARS]


def clean_content_type(raw: str | None) -> str:
    """A plausible `type/subtype`, or the neutral default; parameters are dropped."""
    if not raw:
        return DEFAULT_CONTENT_TYPE
    essence = raw.split(";", 1)[0].strip().lower()
    kind, slash, subtype = essence.partition("/")
    allowed = set("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")
    if not (slash and kind and subtype and set(kind + subtype) <= allowed and len(essence) <= 100):
        return DEFAULT_CONTENT_TYPE
    return essence
