"""A streaming multipart/form-data parser (RFC 7578 over RFC 2046) that copies little.

Built for uploads of gigabytes: the body arrives in reads of up to 1 MiB,
the delimiter (CRLF "--" boundary) is found with `bytes.find`, and a file's
data is handed out as slices of those reads. A read that holds no delimiter
and does not end in a possible start of one is handed out as the very same
bytes object, uncopied; only a read that holds a delimiter, or a delimiter
split across two reads, costs a copy of that read.

Strict where browsers never stray: every line break in the framing is CRLF,
a delimiter line may carry only spaces and tabs before its CRLF, part
headers are UTF-8, and every part names itself in a form-data
Content-Disposition. Preamble and part headers are bounded and the
epilogue is dropped as it is read, so a body that never gets to the point
costs no memory. The parser only frames:
it knows nothing of files, fields or limits on data (MultipartStream does).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from werkzeug.http import parse_options_header

CRLF = b"\r\n"
HEADERS_END = b"\r\n\r\n"
CLOSE_MARK = b"--"
TRANSPORT_PADDING = b" \t"
# A browser's part headers are a few hundred bytes, a long Cyrillic filename
# percent-escaped a few KB; preamble and padding are empty. Past these the
# body is an attack on memory, not a form.
MAX_HEADER_BLOCK_BYTES = 16 * 1024
MAX_PREAMBLE_BYTES = 16 * 1024
MAX_TRANSPORT_PADDING_BYTES = 1024
# RFC 2046 section 5.1.1.
MAX_BOUNDARY_BYTES = 70


class MultipartSyntaxError(ValueError):
    """The body is not multipart/form-data: garbled framing or part headers."""


class TruncatedBody(ValueError):
    """The body ended before the close delimiter."""


@dataclass(frozen=True)
class PartHeaders:
    name: str
    # None for a text field; a file input sends one, empty if no file was chosen.
    filename: str | None
    # Header names lower-cased; the first of repeated headers.
    headers: dict[str, str]


class MultipartParser:
    """Parts of a body pulled through `read_more`, which returns the next bytes of it and b"" at its end.

    Call `next_part` for each part's headers (None after the close
    delimiter, once the epilogue is read and dropped), then `read_data` until
    it says no more follows. `next_part` skips what is left of the current part.
    """

    def __init__(self, read_more: Callable[[], bytes], boundary: bytes) -> None:
        if not 0 < len(boundary) <= MAX_BOUNDARY_BYTES or b"\r" in boundary or b"\n" in boundary:
            raise MultipartSyntaxError("unusable boundary")
        self._read_more = read_more
        self._delimiter = CRLF + CLOSE_MARK + boundary
        # The first delimiter may open the body without a CRLF before it:
        # with one in front, it is found like every other.
        self._buffer = CRLF
        self._position = 0
        self._in_data = False
        self._closed = False
        self._started = False
        # Where the buffer's first byte was before the last `_refill`.
        self._refilled_from = 0

    def next_part(self) -> PartHeaders | None:
        if not self._started:
            self._skip_preamble()
            self._started = True
        while self._in_data:
            self.read_data()
        if self._closed:
            self._drop_epilogue()
            return None
        return self._part_headers()

    def read_data(self) -> tuple[bytes, bool]:
        """The next piece of the current part's data, and whether more of it follows.

        The last piece may be empty. After it, `next_part` goes on.
        """
        if not self._in_data:
            return b"", False
        search_from = self._position
        while True:
            found = self._buffer.find(self._delimiter, search_from)
            if found < 0:
                end = len(self._buffer) - self._partial_delimiter_length(search_from)
                if end > self._position:
                    return self._take(end), True
                self._refill()
                search_from = 0
                continue
            after = self._delimiter_end(found)
            if after is None:
                # The delimiter's line is not all in yet.
                if found > self._position:
                    return self._take(found), True
                self._refill()
                search_from = 0
                continue
            if after < 0:
                # "--boundary" and then something else: content, not a delimiter.
                search_from = found + 1
                continue
            data = self._take(found)
            self._position = after
            self._in_data = False
            return data, False

    def _take(self, end: int) -> bytes:
        # A slice of the whole of a bytes object is that object: no copy.
        data = self._buffer[self._position : end]
        self._position = end
        return data

    def _skip_preamble(self) -> None:
        search_from = 0
        while True:
            found = self._buffer.find(self._delimiter, search_from)
            after = None if found < 0 else self._delimiter_end(found)
            if after is not None and after >= 0:
                self._position = after
                return
            if after is not None:
                search_from = found + 1
                continue
            if (found if found >= 0 else len(self._buffer) - len(self._delimiter)) > MAX_PREAMBLE_BYTES:
                raise MultipartSyntaxError("no boundary where the form should start")
            search_from = max(0, len(self._buffer) - len(self._delimiter) - MAX_TRANSPORT_PADDING_BYTES - 2)
            self._buffer += self._read_or_fail()

    def _delimiter_end(self, found: int) -> int | None:
        """Where the line of the delimiter at `found` ends: None if it is not all in yet, -1 if it is no delimiter.

        At a close delimiter that is the end of the buffer: the epilogue is not kept.
        """
        after = found + len(self._delimiter)
        if len(self._buffer) < after + 2:
            return None
        if self._buffer.startswith(CLOSE_MARK, after):
            self._closed = True
            return len(self._buffer)
        # Measured in C: a Python loop over the padding cost a millisecond per
        # lookalike ("--boundary", 1 KiB of spaces, "x"), 60 ms per MiB of such content.
        window = self._buffer[after : after + MAX_TRANSPORT_PADDING_BYTES + 1]
        padding_end = after + len(window) - len(window.lstrip(TRANSPORT_PADDING))
        if padding_end - after > MAX_TRANSPORT_PADDING_BYTES:
            raise MultipartSyntaxError("endless padding after a boundary")
        if len(self._buffer) < padding_end + 2:
            return None
        if self._buffer.startswith(CRLF, padding_end):
            return padding_end + 2
        return -1

    def _partial_delimiter_length(self, start: int) -> int:
        """How many bytes at the end of the buffer (from `start` on) could begin a delimiter."""
        candidate = self._buffer.find(b"\r", max(start, len(self._buffer) - len(self._delimiter) + 1))
        while candidate >= 0:
            if self._delimiter.startswith(self._buffer[candidate:]):
                return len(self._buffer) - candidate
            candidate = self._buffer.find(b"\r", candidate + 1)
        return 0

    def _part_headers(self) -> PartHeaders:
        while len(self._buffer) - self._position < len(CRLF):
            self._refill()
        if self._buffer.startswith(CRLF, self._position):
            raise MultipartSyntaxError("a part without headers")
        searched = self._position
        while (end := self._buffer.find(HEADERS_END, searched)) < 0:
            if len(self._buffer) - self._position > MAX_HEADER_BLOCK_BYTES:
                raise MultipartSyntaxError("part headers never end")
            searched = max(self._position, len(self._buffer) - len(HEADERS_END) + 1)
            self._refill()
            searched -= self._refilled_from
        if end - self._position > MAX_HEADER_BLOCK_BYTES:
            raise MultipartSyntaxError("part headers never end")
        part = parse_part_headers(self._buffer[self._position : end])
        self._start_data(end + len(CRLF))
        return part

    def _start_data(self, blank_line: int) -> None:
        """Past the blank line that ends the headers, or onto it when it opens the delimiter of an empty part.

        RFC 2046 lets a part end with its headers: then the blank line's CRLF
        is the one in front of the delimiter.
        """
        self._position = blank_line
        self._in_data = True
        while True:
            ahead = self._buffer[self._position : self._position + len(self._delimiter)]
            if ahead == self._delimiter:
                after = self._delimiter_end(self._position)
                if after is None:
                    self._refill()
                    continue
                if after >= 0:
                    return
                break
            if len(ahead) < len(self._delimiter) and self._delimiter.startswith(ahead):
                self._refill()
                continue
            break
        self._position += len(CRLF)

    def _refill(self) -> None:
        """Read on, keeping what is left from the position on, which moves to 0."""
        chunk = self._read_or_fail()
        self._refilled_from = self._position
        if self._position < len(self._buffer):
            self._buffer = self._buffer[self._position :] + chunk
        else:
            self._buffer = chunk
        self._position = 0

    def _read_or_fail(self) -> bytes:
        chunk = self._read_more()
        if not chunk:
            raise TruncatedBody("the body ended before the form")
        return chunk

    def _drop_epilogue(self) -> None:
        self._buffer = b""
        self._position = 0
        while self._read_more():
            pass


def parse_part_headers(block: bytes) -> PartHeaders:
    """The headers of one part (CRLF-separated lines, folded lines joined), named by its Content-Disposition."""
    headers: dict[str, str] = {}
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        raise MultipartSyntaxError("part headers are not UTF-8") from None
    lines = text.split("\r\n")
    if any("\r" in line or "\n" in line for line in lines):
        raise MultipartSyntaxError("a bare CR or LF in part headers")
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip(" \t")
        else:
            unfolded.append(line)
    for line in unfolded:
        name, colon, value = line.partition(":")
        name = name.strip(" \t")
        if not colon or not name:
            raise MultipartSyntaxError("a part header line without a name")
        headers.setdefault(name.lower(), value.strip(" \t"))
    disposition = headers.get("content-disposition")
    if disposition is None:
        raise MultipartSyntaxError("a part without Content-Disposition")
    kind, options = parse_options_header(disposition)
    field_name = options.get("name")
    if kind.lower() != "form-data" or field_name is None:
        raise MultipartSyntaxError("a part that is not a named form-data part")
    return PartHeaders(field_name, options.get("filename"), headers)
