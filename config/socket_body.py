"""A request body of known length read straight off the socket (config/gunicorn.py installs it).

gunicorn reads a body through two buffers of its own (`Body` and the
`Unreader` under `LengthReader`), and every read copied the bytes three or
four times between them: for a gigabyte upload, more CPU than sealing it.
Here a read is one `recv` for each piece the kernel hands over, joined only
when a read needed several: one copy at most.

Reads still fill up to the size asked for, or the end of the body, as
gunicorn's do; they never read past the body, so bytes of a next request
stay with gunicorn. A socket timeout or error propagates as before and
marks the body failed, so gunicorn closes the connection. Chunked bodies
keep gunicorn's own reader.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http.body import Body, LengthReader
from gunicorn.http.unreader import SocketUnreader

# As much as gunicorn itself asks of the socket at once (SocketUnreader.max_body_chunk).
MAX_RECV_BYTES = 1024 * 1024


class SocketLengthBody(Body):
    def __init__(self, reader: Any, unreader: Any) -> None:
        super().__init__(reader)
        self._unreader = unreader

    def read(self, size: int | None = None) -> bytes:
        wanted = min(self.getsize(size), self.reader.length)
        if self.buf.tell():
            # What readline() read ahead comes first, through gunicorn's own path.
            data: bytes = super().read(size)
            return data
        if wanted <= 0:
            return b""
        try:
            return self._read_socket(wanted)
        except Exception:
            self.failed = True
            raise

    def _read_socket(self, wanted: int) -> bytes:
        pieces = []
        held: bytes = self._unreader.take_buffered()
        if len(held) > wanted:
            self._unreader.unread(held[wanted:])
            held = held[:wanted]
        if held:
            pieces.append(held)
        missing = wanted - len(held)
        while missing:
            piece: bytes = self._unreader.sock.recv(min(missing, MAX_RECV_BYTES))
            if not piece:
                # The client stopped short of its Content-Length: a short
                # read now, and b"" next, as with gunicorn's reader.
                break
            pieces.append(piece)
            missing -= len(piece)
        # One piece is returned as it is, not copied.
        data = b"".join(pieces)
        self.reader.length -= len(data)
        return data


def read_body_from_socket(request: Any) -> None:
    """Swap gunicorn's reader of a Content-Length body off a plain socket for SocketLengthBody."""
    # HTTP/2 streams carry no such body.
    body: Any = getattr(request, "body", None)
    if type(body) is not Body or type(body.reader) is not LengthReader:
        return
    if not isinstance(body.reader.unreader, SocketUnreader) or body.buf.tell():
        return
    request.body = SocketLengthBody(body.reader, body.reader.unreader)
