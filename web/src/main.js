// Entry point of intake/static/intake-encrypt.js. The encryption calls are
// also published on globalThis so that the tests and the benchmark can drive
// exactly the code the page runs.
import { encryptPaddedBytes, encryptPaddedStream } from "./encrypt.js";
import { paddedLength } from "./padding.js";
import { itemPayloadJson, summaryJson } from "./payload.js";
import { enhanceForms } from "./form.js";

globalThis.IntakeEncrypt = Object.freeze({ encryptPaddedBytes, encryptPaddedStream, itemPayloadJson, summaryJson, paddedLength });

if (typeof document !== "undefined") enhanceForms(document);
