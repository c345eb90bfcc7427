"""Downloads reach the server in large pieces, never in the 8 KiB writes pyrage once made.

Each piece costs a thread hand-over and, through gunicorn, a chunked-encoding
frame and a send() call; at 8 KiB those cost more than the decryption.
"""

from __future__ import annotations

import os

from config import Config
from crypto import encrypt_stream_padded, generate_identity
from intake.services.blobstore import BlobStore
from intake.services.downloads import decrypted_chunks

MIB = 1024 * 1024


def test_plaintext_is_handed_to_the_response_in_pieces_of_a_mebibyte(config: Config) -> None:
    # Given an attachment of a little over 5 MiB
    identity = generate_identity()
    content = os.urandom(5 * MIB + 17)
    store = BlobStore(config.blob_dir)
    with store.writer() as blob:
        encrypt_stream_padded(_Bytes(content), blob, [identity.recipient])
        blob_name = blob.publish()

    # When it is decrypted for a download
    chunks = list(decrypted_chunks(store, blob_name, identity.secret))

    # Then it comes in 1 MiB pieces (the last one shorter), intact, and no piece
    # is larger, so memory per download stays bounded
    assert b"".join(chunks) == content
    assert [len(chunk) for chunk in chunks[:-1]] == [MIB] * 5
    assert 0 < len(chunks[-1]) <= MIB


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)

    def read(self, size: int) -> bytes:
        chunk, self._view = self._view[:size], self._view[size:]
        return bytes(chunk)
