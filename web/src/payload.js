// Twin of intake/services/items.py: the JSON document inside every item
// ciphertext, with the keys in the order Python's asdict writes them.

export const PAYLOAD_VERSION = 1;

export function itemPayloadJson({ fields = {}, message = "", attachments = [] }) {
  const document = {
    v: PAYLOAD_VERSION,
    fields: Object.fromEntries(Object.entries(fields).map(([name, value]) => [name, String(value)])),
    message: String(message),
    attachments: attachments.map((meta) => ({
      attachment_id: meta.attachment_id,
      filename: meta.filename,
      content_type: meta.content_type,
      size: meta.size,
    })),
  };
  return new TextEncoder().encode(JSON.stringify(document));
}
