// Stands in for the post-quantum and P-256 code that age-encryption imports
// for hybrid and tag recipients. We encrypt only to X25519 recipients (and
// the server refuses any other stanza), so this code would never run; left
// out it saves most of the bundle. Reaching it is a bug: it throws.
function unavailable() {
  throw new Error("only X25519 recipients are supported here");
}
const stub = new Proxy({}, { get: () => unavailable });
export const MLKEM768X25519 = stub;
export const MLKEM768P256 = stub;
export const p256 = stub;
