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

// Twin of intake/services/summaries.py: the small inbox summary sealed beside
// the item, so the lawyers' triage (and the urgent alert) works in this mode too.
export const SUMMARY_VERSION = 1;
export const URGENT = "danger_now";
const MAX_COUNTRY_CHARS = 100;

export function summaryJson(fields, language) {
  const document = {
    v: SUMMARY_VERSION,
    help_kind: String(fields.help_kind || ""),
    urgency: String(fields.urgency || ""),
    // Code points, as Python slices a str.
    country: Array.from(String(fields.country || "")).slice(0, MAX_COUNTRY_CHARS).join(""),
    language: String(language),
  };
  return new TextEncoder().encode(JSON.stringify(document));
}
