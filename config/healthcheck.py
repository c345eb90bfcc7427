"""The image's HEALTHCHECK: `python -m config.healthcheck`.

Asks `/healthz` on the first address gunicorn listens on, read from the same
INTAKE_BIND that config/gunicorn.py reads, so moving the listener never
leaves the health check polling a port nobody serves. Standard library only:
the image has no curl.
"""

from __future__ import annotations

import http.client
import sys

from config.gunicorn import bind

WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}  # noqa: S104 — mapped to loopback


def probe_address(listener: str) -> tuple[str, int]:
    """Where to connect to reach a gunicorn listener such as `0.0.0.0:8000` or `[::]:8000`."""
    host, _, port = listener.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    return WILDCARDS.get(host, host), int(port)


def healthy(host: str, port: int) -> bool:
    connection = http.client.HTTPConnection(host, port, timeout=8)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        return response.status == 200 and response.read() == b"ok\n"
    except OSError:
        return False
    finally:
        connection.close()


def main() -> int:
    return 0 if healthy(*probe_address(bind[0])) else 1


if __name__ == "__main__":
    sys.exit(main())
