// Twin of crypto/padding.py: Padmé buckets with a 1 KiB floor and ISO/IEC
// 7816-4 framing (data || 0x80 || 0x00...). Lengths go through BigInt because
// JavaScript's bit operators stop at 32 bits and files do not.

export const MARKER = 0x80;
export const MIN_PADDED_LENGTH = 1024;

function bitLength(value) {
  return value === 0n ? 0 : value.toString(2).length;
}

export function padme(length) {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError("length must be a non-negative integer");
  const big = BigInt(length);
  const exponent = bitLength(big) - 1;
  if (exponent < 1) return length;
  const dropped = BigInt(exponent - bitLength(BigInt(exponent)));
  const mask = (1n << dropped) - 1n;
  return Number((big + mask) & ~mask);
}

export function paddedLength(n) {
  return Math.max(MIN_PADDED_LENGTH, padme(n + 1));
}

export function padBytes(data) {
  const padded = new Uint8Array(paddedLength(data.length));
  padded.set(data);
  padded[data.length] = MARKER;
  return padded;
}

// The source stream of `size` bytes, then its padding, in bounded pieces.
export function padStream(source, size) {
  const reader = source.getReader();
  let seen = 0;
  let paddingLeft = null;
  const ZERO_BLOCK = 64 * 1024;
  return new ReadableStream({
    async pull(controller) {
      if (paddingLeft === null) {
        const { done, value } = await reader.read();
        if (!done) {
          seen += value.length;
          controller.enqueue(value);
          return;
        }
        if (seen !== size) throw new Error("the file changed while it was read");
        paddingLeft = paddedLength(size) - size;
        const first = new Uint8Array(Math.min(paddingLeft, ZERO_BLOCK));
        first[0] = MARKER;
        paddingLeft -= first.length;
        controller.enqueue(first);
        return;
      }
      if (paddingLeft === 0) {
        controller.close();
        return;
      }
      const block = new Uint8Array(Math.min(paddingLeft, ZERO_BLOCK));
      paddingLeft -= block.length;
      controller.enqueue(block);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
