// Progressive enhancement of the help-request form and of the follow-up form
// on the replies page: with this script the answers and files are encrypted
// here, files go up as ciphertext in checksummed chunks that survive a cut
// connection, and the final post carries only ciphertext. Without it the
// forms post as they always did.
import { encryptPaddedBytes, encryptPaddedStream } from "./encrypt.js";
import { URGENT, itemPayloadJson, summaryJson } from "./payload.js";

const CHUNK_BYTES = 1024 * 1024;
const MAX_BACKOFF_MS = 60_000;
// The front's busy page, the app's "database unavailable", a gateway that
// lost the app's answer: each passes, and the post may be sent again.
const RETRIED_STATUSES = new Set([502, 503, 504]);
// Below this encryption, not Tor (100–500 KB/s), is the bottleneck: measured
// 28 MiB/s with the JIT and 0.7–0.9 MiB/s without (docs/benchmarks.md).
const SLOW_BYTES_PER_SECOND = 512 * 1024;

class Cancelled extends Error {}

class SubmitFailed extends Error {
  constructor(status) {
    super(`status ${status}`);
    this.status = status;
  }
}

export function enhanceForms(document) {
  const settingsTag = document.getElementById("intake-encryption");
  const form = document.querySelector("form[data-upload-progress]");
  if (!settingsTag || !form || !window.ReadableStream || !window.crypto?.subtle || !window.fetch) return;
  const settings = JSON.parse(settingsTag.textContent);
  const note = document.createElement("p");
  note.className = "hint";
  note.textContent = settings.text.reloadRestarts;
  form.querySelector("button[type=submit]").before(note);
  // Capture phase on the document: runs before the plain progress script's handler on the form.
  document.addEventListener(
    "submit",
    (event) => {
      if (event.target !== form) return;
      // The server cannot check encrypted answers: an incomplete form goes the
      // plain way, where the server answers with its notes and stores nothing.
      if (!answersComplete(form, settings)) return;
      // Files kept from an earlier try were encrypted by the server, and their
      // names are in its sealed list, not in a browser item: send them the same way.
      if (form.querySelector("input[name=kept_files]")) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      new EncryptedSending(form, settings).run();
    },
    true,
  );
}

function answersComplete(form, settings) {
  const data = new FormData(form);
  const filled = (name) => String(data.get(name) || "").trim() !== "";
  if (settings.kind === "followUp") {
    // FollowUpForm's check: a message, or at least one file.
    return filled("message") || Array.from(form.querySelectorAll("input[type=file]")).some((input) => input.files?.length);
  }
  if (!settings.required.every(filled)) return false;
  const contact = settings.contact;
  return !contact.choicesWithValue.includes(data.get(contact.choice)) || filled(contact.value);
}

function base64(bytes) {
  let text = "";
  for (let at = 0; at < bytes.length; at += 0x8000) {
    text += String.fromCharCode.apply(null, bytes.subarray(at, at + 0x8000));
  }
  return btoa(text);
}

async function sha256Header(bytes) {
  return "sha256 " + base64(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

function uuidOf(uploadId) {
  return [8, 4, 4, 4, 12]
    .reduce((parts, length) => {
      const start = parts.join("").length;
      return [...parts, uploadId.slice(start, start + length)];
    }, [])
    .join("-");
}

function megabytes(form, bytes) {
  const mb = bytes / 1048576;
  let text;
  try {
    text = mb.toLocaleString(document.documentElement.lang, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  } catch {
    text = mb.toFixed(1);
  }
  return form.dataset.mb.replace("{n}", text);
}

class EncryptedSending {
  constructor(form, settings) {
    this.form = form;
    this.settings = settings;
    this.token = form.querySelector("input[name=csrf_token]").value;
    this.abort = new AbortController();
    this.uploadIds = [];
    this.sent = 0;
    this.total = 0;
    this.finalPostSent = false;
  }

  async run() {
    const button = this.form.querySelector("button[type=submit]");
    if (button.disabled) return;
    button.disabled = true;
    const files = Array.from(this.form.querySelectorAll("input[type=file]")).flatMap((input) => Array.from(input.files || []));
    this.total = files.reduce((sum, file) => sum + file.size, 0);
    this.showStatus();
    try {
      if (this.tooLarge(files)) return;
      const attachments = [];
      for (const file of files) attachments.push(await this.sendFile(file));
      const answers = this.answers();
      const item = await encryptPaddedBytes(itemPayloadJson({ ...answers, attachments }), this.settings.recipients);
      if (this.settings.kind === "followUp") {
        await this.submit(item);
      } else {
        const summary = await encryptPaddedBytes(summaryJson(answers.fields, document.documentElement.lang), this.settings.recipients);
        await this.submit(item, summary, answers.fields.urgency === URGENT);
      }
    } catch (error) {
      if (error instanceof Cancelled) {
        await this.discardUploads();
        // Once the final post has gone out, the server may have stored it and
        // only its answer be missing: "nothing was stored" could then be false.
        this.say(this.finalPostSent ? this.cancelledAfterPostText() : this.settings.text.cancelled);
      } else {
        this.alert(this.failureText(error));
      }
      this.cancelButton.remove();
      button.disabled = false;
    }
  }

  cancelledAfterPostText() {
    // A follow-up is never shown back to its sender, so there is nothing to check it against.
    return this.settings.kind === "followUp" ? this.settings.text.followUpCancelledAfterPost : this.settings.text.cancelledAfterPost;
  }

  failureText(error) {
    if (error instanceof SubmitFailed && error.status === 409) return this.settings.text.recipientsChanged;
    if (error instanceof SubmitFailed && error.status === 403 && this.settings.kind === "followUp") return this.settings.text.loggedOut;
    return this.form.dataset.failed;
  }

  tooLarge(files) {
    const largest = Math.max(0, ...files.map((file) => file.size));
    if (largest > Number(this.form.dataset.maxFileBytes) || this.total > Number(this.form.dataset.maxTotalBytes)) {
      this.alert(this.form.dataset.tooLarge);
      this.form.querySelector("button[type=submit]").disabled = false;
      this.cancelButton.remove();
      return true;
    }
    return false;
  }

  answers() {
    const data = new FormData(this.form);
    const fields = {};
    for (const name of this.settings.questions) {
      const value = data.get(name);
      fields[name] = typeof value === "string" ? value.trim() : "";
    }
    const message = String(data.get("message") || "").replace(/\r\n/g, "\n");
    return { fields, message };
  }

  showStatus() {
    this.form.querySelector(".upload-status")?.remove();
    this.status = document.createElement("p");
    this.status.className = "upload-status";
    this.status.setAttribute("role", "status");
    this.text = document.createElement("span");
    this.text.textContent = this.settings.text.encrypting;
    this.bar = document.createElement("progress");
    this.bar.max = Math.max(1, this.total);
    this.bar.value = 0;
    this.cancelButton = document.createElement("button");
    this.cancelButton.type = "button";
    this.cancelButton.textContent = this.settings.text.cancel;
    this.cancelButton.addEventListener("click", () => this.abort.abort());
    this.status.append(this.text, " ", this.bar, " ", this.cancelButton);
    this.form.querySelector("button[type=submit]").after(this.status);
  }

  say(message) {
    this.text.textContent = message;
    this.bar.remove();
  }

  alert(message) {
    this.say(message);
    this.status.setAttribute("role", "alert");
  }

  progress(extra) {
    const sent = this.sent + extra;
    this.bar.value = Math.round(sent);
    this.text.textContent = this.form.dataset.sent
      .replace("{sent}", megabytes(this.form, sent))
      .replace("{total}", megabytes(this.form, this.total));
  }

  checkCancelled() {
    if (this.abort.signal.aborted) throw new Cancelled();
  }

  async sendFile(file) {
    let encryptingMs = 0;
    let encrypted = 0;
    const { stream, size } = await encryptPaddedStream(file.stream(), file.size, this.settings.recipients);
    const created = await this.request("POST", this.settings.uploadUrl, { "Upload-Length": String(size) });
    if (created.status !== 201) throw new SubmitFailed(created.status);
    const location = created.headers.get("Location");
    const uploadId = location.split("/").pop();
    this.uploadIds.push(uploadId);
    const reader = stream.getReader();
    let offset = 0;
    let pending = new Uint8Array(0);
    let warned = false;
    for (;;) {
      // Time spent waiting for ciphertext alone: the upload's own time is Tor's.
      const readStarted = performance.now();
      const { done, value } = await reader.read();
      encryptingMs += performance.now() - readStarted;
      if (value) {
        encrypted += value.length;
        pending = concat(pending, value);
      }
      while (pending.length >= CHUNK_BYTES || (done && pending.length)) {
        const chunk = pending.subarray(0, Math.min(CHUNK_BYTES, pending.length));
        if (!warned && encrypted > 4 * CHUNK_BYTES && (encrypted * 1000) / encryptingMs < SLOW_BYTES_PER_SECOND) {
          warned = true;
          const slow = document.createElement("p");
          slow.className = "hint";
          slow.textContent = this.settings.text.slow;
          this.status.after(slow);
        }
        offset = await this.sendChunk(location, offset, chunk, file.size / size);
        pending = pending.slice(chunk.length);
      }
      if (done) break;
    }
    this.sent += file.size;
    return {
      attachment_id: uuidOf(uploadId),
      filename: file.name,
      // As a browser labels a file part in a plain form post.
      content_type: file.type || "application/octet-stream",
      size: file.size,
    };
  }

  // Sends one chunk until the server holds it: after a failure it asks the
  // server for its offset, so a chunk that arrived but whose answer was lost
  // is not sent twice.
  async sendChunk(location, offset, chunk, plaintextRatio) {
    const checksum = await sha256Header(chunk);
    for (let attempt = 0; ; attempt++) {
      this.checkCancelled();
      try {
        const response = await this.request("PATCH", location, {
          "Content-Type": "application/offset+octet-stream",
          "Upload-Offset": String(offset),
          "Upload-Checksum": checksum,
        }, chunk);
        if (response.status === 204) {
          this.progress((offset + chunk.length) * plaintextRatio);
          return offset + chunk.length;
        }
        if (response.status !== 409 && response.status !== 460 && response.status < 500) throw new SubmitFailed(response.status);
      } catch (error) {
        if (error instanceof SubmitFailed || error instanceof Cancelled || this.abort.signal.aborted) throw error.name === "AbortError" ? new Cancelled() : error;
      }
      await this.wait(attempt);
      const held = await this.serverOffset(location);
      if (held === offset + chunk.length) return held;
      if (held !== offset) throw new SubmitFailed(409);
    }
  }

  async serverOffset(location) {
    for (let attempt = 0; ; attempt++) {
      this.checkCancelled();
      try {
        const response = await this.request("HEAD", location, {});
        if (response.status === 200) return Number(response.headers.get("Upload-Offset"));
        if (response.status < 500) throw new SubmitFailed(response.status);
      } catch (error) {
        if (error instanceof SubmitFailed || this.abort.signal.aborted) throw this.abort.signal.aborted ? new Cancelled() : error;
      }
      await this.wait(attempt);
    }
  }

  wait(attempt) {
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
    this.text.textContent = this.settings.text.retrying.replace("{s}", String(Math.round(delay / 1000)));
    return new Promise((resolve) => setTimeout(resolve, delay));
  }

  request(method, url, headers, body) {
    return fetch(url, {
      method,
      headers: { "X-CSRFToken": this.token, ...headers },
      body,
      credentials: "same-origin",
      cache: "no-store",
      signal: this.abort.signal,
    });
  }

  async discardUploads() {
    for (const uploadId of this.uploadIds) {
      try {
        await fetch(`${this.settings.uploadUrl}/${uploadId}`, { method: "DELETE", headers: { "X-CSRFToken": this.token } });
      } catch {
        // The sweeper removes what could not be cancelled now.
      }
    }
  }

  async submit(item, summary, urgent) {
    const body = new FormData();
    // The form's own hidden fields (its CSRF token first) travel as they would in a plain post.
    for (const hidden of this.form.querySelectorAll("input[type=hidden]")) body.append(hidden.name, hidden.value);
    body.append("recipients_fingerprint", this.settings.fingerprint);
    body.append("encrypted_item", base64(item));
    body.append("encrypted_files", this.uploadIds.join(","));
    if (summary) {
      body.append("encrypted_summary", base64(summary));
      // One bit, so the lawyers get the content-free urgent alert; the answers stay sealed.
      body.append("urgent", urgent ? "1" : "0");
    }
    const response = await this.untilAnswered(() => {
      this.finalPostSent = true;
      // Over Tor the answer can take a while: say that all is sent and what to wait for.
      this.text.textContent = this.form.dataset.saving;
      return fetch(this.settings.submitUrl, { method: "POST", body, credentials: "same-origin", signal: this.abort.signal });
    });
    if (!response.ok) throw new SubmitFailed(response.status);
    const receipt = await response.text();
    // The server's page, as a plain form post would have shown it, at the address it would have
    // had: the form's, or for a follow-up the replies page the post was sent on to.
    history.replaceState(null, "", response.redirected ? response.url : this.form.action);
    document.open();
    document.write(receipt);
    document.close();
  }

  // Once every file is on the server, a lost answer or a busy front must not
  // send the submitter back to uploading them all again: the final post goes
  // again until it gets an answer. Sending it again is safe: the server knows
  // a post it already stored and answers it with that receipt.
  async untilAnswered(send) {
    for (let attempt = 0; ; attempt++) {
      this.checkCancelled();
      let response = null;
      try {
        response = await send();
      } catch {
        if (this.abort.signal.aborted) throw new Cancelled();
      }
      if (response && !RETRIED_STATUSES.has(response.status)) return response;
      await this.wait(attempt);
    }
  }
}

function concat(a, b) {
  if (!a.length) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
