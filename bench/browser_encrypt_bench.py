"""In-browser encryption speed in headless Chromium, with the JIT and without it.

Tor Browser's "Safer" level turns the JavaScript JIT off; `--js-flags=--jitless`
does the same to Chromium's V8. The page runs the committed bundle's own
encrypt path (pad, age, stream) on a file-sized Blob, as the request form does.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from bench.measure import report
from crypto import generate_identity

STATIC = Path(__file__).resolve().parents[1] / "intake" / "static"
MIB = 1024 * 1024
SIZE_MIB = 32
QUICK_SIZE_MIB = 1

# Runs inside the page; returns seconds spent encrypting the given MiB to two recipients.
ENCRYPT_SCRIPT = """
const [sizeMib, recipients, done] = arguments;
const data = new Uint8Array(sizeMib * 1048576);
for (let at = 0; at < data.length; at += 65536) crypto.getRandomValues(data.subarray(at, at + 65536));
const started = performance.now();
IntakeEncrypt.encryptPaddedStream(new Blob([data]).stream(), data.length, recipients).then(async ({ stream }) => {
  let total = 0;
  for (const reader = stream.getReader(); ; ) {
    const { done: finished, value } = await reader.read();
    if (finished) break;
    total += value.length;
  }
  done((performance.now() - started) / 1000);
});
"""


@contextmanager
def static_server() -> Iterator[str]:
    """The committed bundle and a bare page that loads it, on localhost (a secure context, as .onion is)."""
    scratch = tempfile.TemporaryDirectory()
    root = Path(scratch.name)
    shutil.copy(STATIC / "intake-encrypt.js", root / "intake-encrypt.js")
    (root / "bench.html").write_text('<!doctype html><script src="intake-encrypt.js"></script>')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("localhost", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_port}"
    finally:
        server.shutdown()
        scratch.cleanup()


def encrypt_seconds(base: str, jitless: bool, size_mib: int) -> float:
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    if jitless:
        options.add_argument("--js-flags=--jitless")
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    try:
        driver.set_script_timeout(600)
        driver.get(base + "/bench.html")
        recipients = [generate_identity().recipient, generate_identity().recipient]
        seconds: float = driver.execute_async_script(ENCRYPT_SCRIPT, size_mib, recipients)
        return seconds
    finally:
        driver.quit()


def main(quick: bool = False) -> None:
    size_mib = QUICK_SIZE_MIB if quick else SIZE_MIB
    with static_server() as base:
        for jitless in (False, True):
            seconds = encrypt_seconds(base, jitless, size_mib)
            label = "jitless" if jitless else "jit"
            report(
                f"browser_encrypt_{size_mib}mib_{label}",
                {"seconds": seconds, "kib_per_s": size_mib * MIB / seconds / 1024},
            )


if __name__ == "__main__":
    main()
