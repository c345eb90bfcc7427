// What the server's crypto.envelope does, in the browser: padded plaintext in
// age v1 to the published X25519 recipients, and nothing else in the header.
import { Encrypter } from "age-encryption";
import { padBytes, padStream, paddedLength } from "./padding.js";

function encrypterFor(recipients) {
  if (!recipients.length) throw new Error("no recipients");
  const encrypter = new Encrypter();
  for (const recipient of recipients) {
    // Only native X25519 keys: the server refuses any other stanza type.
    if (!/^age1[02-9ac-hj-np-z]{58}$/.test(recipient)) throw new Error("not an X25519 recipient");
    encrypter.addRecipient(recipient);
  }
  return encrypter;
}

export async function encryptPaddedBytes(plaintext, recipients) {
  return encrypterFor(recipients).encrypt(padBytes(plaintext));
}

// Returns the ciphertext as a stream and its exact length, known before the
// first byte so the upload can be declared up front.
export async function encryptPaddedStream(source, size, recipients) {
  const stream = await encrypterFor(recipients).encrypt(padStream(source, size));
  return { stream, size: stream.size(paddedLength(size)) };
}
