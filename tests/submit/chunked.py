"""A minimal client of the chunked upload endpoints, as the page's script uses them."""

from __future__ import annotations

import base64
import hashlib

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.submit.multipart import csrf_token

CHUNK_TYPE = "application/offset+octet-stream"


def page_token(client: FlaskClient) -> str:
    return csrf_token(client, "/request")


def create(client: FlaskClient, token: str, length: int) -> TestResponse:
    return client.post("/uploads", headers={"X-CSRFToken": token, "Upload-Length": str(length)})


def sha256_header(data: bytes) -> str:
    return "sha256 " + base64.b64encode(hashlib.sha256(data).digest()).decode()


def patch(
    client: FlaskClient, token: str, location: str, offset: int, chunk: bytes, checksum: str | None = None
) -> TestResponse:
    return client.patch(
        location,
        data=chunk,
        headers={
            "X-CSRFToken": token,
            "Content-Type": CHUNK_TYPE,
            "Upload-Offset": str(offset),
            "Upload-Checksum": checksum or sha256_header(chunk),
        },
    )


def upload_whole(client: FlaskClient, token: str, data: bytes, chunk_bytes: int = 100_000) -> str:
    created = create(client, token, len(data))
    assert created.status_code == 201, created.get_data(as_text=True)
    location = created.headers["Location"]
    for offset in range(0, len(data), chunk_bytes):
        response = patch(client, token, location, offset, data[offset : offset + chunk_bytes])
        assert response.status_code == 204, response.get_data(as_text=True)
    return location
