"""Run the committed browser bundle under Node, as the page would run it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

BUNDLE = Path(__file__).parent.parent.parent / "intake" / "static" / "intake-encrypt.js"

# Loads the bundle as a classic script (as a <script> tag does), then runs one
# call named on stdin and prints its JSON result.
_RUNNER = r"""
const fs = require("fs");
const vm = require("vm");
vm.runInThisContext(fs.readFileSync(process.argv[1], "utf8"));
const api = globalThis.IntakeEncrypt;
const request = JSON.parse(fs.readFileSync(0, "utf8"));
const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const calls = {
  async paddedLengths({ sizes }) { return sizes.map(api.paddedLength); },
  async payload({ payload }) { return b64(api.itemPayloadJson(payload)); },
  async summary({ fields, language }) { return b64(api.summaryJson(fields, language)); },
  async encryptBytes({ plaintext, recipients }) {
    return b64(await api.encryptPaddedBytes(Buffer.from(plaintext, "base64"), recipients));
  },
  async encryptStream({ plaintext, recipients, pieces }) {
    const data = Buffer.from(plaintext, "base64");
    let at = 0;
    const source = new ReadableStream({
      pull(controller) {
        if (at >= data.length) return controller.close();
        controller.enqueue(new Uint8Array(data.subarray(at, at + pieces)));
        at += pieces;
      },
    });
    const { stream, size } = await api.encryptPaddedStream(source, data.length, recipients);
    const parts = [];
    for await (const part of stream) parts.push(Buffer.from(part));
    return { size, ciphertext: b64(Buffer.concat(parts)) };
  },
};
calls[request.call](request).then((result) => process.stdout.write(JSON.stringify(result)));
"""


def run_bundle(call: str, **arguments: Any) -> Any:
    completed = subprocess.run(
        ["node", "-e", _RUNNER, str(BUNDLE)],
        input=json.dumps({"call": call, **arguments}).encode(),
        capture_output=True,
        check=True,
        timeout=120,
    )
    return json.loads(completed.stdout)
