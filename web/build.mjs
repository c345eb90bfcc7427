// Reproducible bundle: same lockfile and sources, same bytes. `node build.mjs
// OUT --check` builds to OUT and fails unless it equals the committed bundle
// (make web-check, run by CI).
import { readFileSync } from "node:fs";
import { build } from "esbuild";

const COMMITTED = "../intake/static/intake-encrypt.js";
const UNUSED_RECIPIENT_CODE = /^@noble\/(post-quantum\/hybrid|curves\/nist)\.js$/;

// See src/stubs/unused-recipients.js.
const leaveOutUnusedRecipients = {
  name: "leave-out-unused-recipients",
  setup(build) {
    build.onResolve({ filter: UNUSED_RECIPIENT_CODE }, () => ({
      path: new URL("./src/stubs/unused-recipients.js", import.meta.url).pathname,
    }));
  },
};
const [outfile = COMMITTED, mode] = process.argv.slice(2);

await build({
  entryPoints: ["src/main.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  charset: "utf8",
  legalComments: "eof",
  outfile,
  plugins: [leaveOutUnusedRecipients],
  logLevel: "warning",
});

if (mode === "--check" && !readFileSync(outfile).equals(readFileSync(COMMITTED))) {
  console.error(`${COMMITTED} differs from a rebuild from the lockfile: run make web-build and commit it`);
  process.exit(1);
}
