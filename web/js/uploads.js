// Files on their way to the server: tus 1.0.0 (docs/media.md) on fetch. An upload is created,
// then its bytes go in chunks; after a dropped connection, a 409 or a server hiccup it asks
// where the server stands (HEAD) and goes on from there, a few times, waiting longer each time.
// A pause drops the request in flight but keeps the upload; going on is such a resume too.
// Requests go through `api.request`, so the access token is refreshed as for any other call.

import { ApiError, errorOf } from "./api.js";
import { fileSize } from "./files.js";

const TUS = { "Tus-Resumable": "1.0.0" };
/** Bytes per PATCH: progress moves a chunk at a time (fetch reports no upload progress). */
export const CHUNK_BYTES = 4 * 1024 * 1024;
/** Waits before each new try after a failure; one try per entry, then the upload fails. */
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];

/**
 * One file sent as an upload of `purpose` ("attachment" or "avatar"). `start()` resolves with the
 * upload id once the server has the file and checked it; it rejects with an Error whose message
 * is for people (also in `error`). A "change" event follows every step: `state` is "uploading",
 * "paused", "complete", "failed" or "cancelled"; `sent` of `file.size` bytes have arrived.
 */
export class Upload extends EventTarget {
  state = "uploading";
  sent = 0;
  id = null;
  error = null;
  #controller = null; // aborts the requests in flight (pause, cancel)
  #running = null;
  #resumed = null; // while paused: settles when start() or cancel() is called
  #wake = null;

  constructor(api, file, { purpose = "attachment" } = {}) {
    super();
    this.api = api;
    this.file = file;
    this.purpose = purpose;
  }

  /** Starts, after a failure starts again, or after a pause goes on (resuming where the server
   * stands, if it still has the upload). Calls while one is running share it; its promise stays
   * pending through pauses. */
  start() {
    if (this.state === "paused") this.#wake();
    this.#running ??= this.#run().finally(() => { this.#running = null; });
    return this.#running;
  }

  /** Stops sending but keeps the upload on the server, for start() to go on with. */
  pause() {
    if (this.state !== "uploading") return;
    // Made here, not where the run waits, so that a start() that comes first is not lost.
    this.#resumed = new Promise((resolve) => { this.#wake = resolve; });
    this.#controller?.abort();
    this.#set("paused");
  }

  /** Stops sending and deletes the upload on the server (it may be complete but unsent). */
  cancel() {
    if (this.state === "cancelled") return;
    this.#controller?.abort();
    this.#set("cancelled");
    this.#wake?.();
    if (this.id) this.#tus("DELETE").catch(() => {});
  }

  async #run() {
    this.#controller = new AbortController();
    this.error = null;
    this.#set("uploading");
    try {
      await checkSize(this.api, this.file);
      while (!(await this.#send())) {
        await this.#resumed;
        if (this.state === "cancelled") throw new Error("cancelled");
        this.#controller = new AbortController();
        this.#set("uploading");
      }
      this.#set("complete");
      return this.id;
    } catch (error) {
      if (this.state === "cancelled") throw new Error("cancelled");
      this.error = uploadProblem(error, this.file);
      this.#set("failed");
      throw new Error(this.error);
    }
  }

  /** Sends what the server lacks: true once it has every byte, false when paused on the way.
   * Each call starts with the retries of a new try: a pause is no failure. */
  async #send() {
    const { signal } = this.#controller;
    try {
      if (!this.id || !(await this.#locate())) await this.#create();
      let failures = 0;
      let lost = false; // the last request failed on the way: where the server stands is unknown
      while (lost || this.sent < this.file.size) {
        try {
          if (lost) {
            // Gone (it expired, or the server refused what arrived): start over.
            if (!(await this.#locate())) await this.#create();
            lost = false;
          } else {
            await this.#patch();
            failures = 0;
          }
        } catch (error) {
          if (signal.aborted || !transient(error) || failures >= BACKOFF_MS.length) throw error;
          await sleep(BACKOFF_MS[failures++], signal);
          lost = true;
        }
      }
      // Paused or cancelled by a listener of the last chunk's progress: that choice stands.
      signal.throwIfAborted();
      return true;
    } catch (error) {
      if (this.state === "paused") return false;
      throw error;
    }
  }

  async #create() {
    const metadata = `filename ${base64(this.file.name || "file")},purpose ${base64(this.purpose)}`;
    const response = await this.api.request("POST", "/api/v1/uploads", {
      headers: { ...TUS, "Upload-Length": String(this.file.size), "Upload-Metadata": metadata },
      signal: this.#controller.signal,
    });
    if (!response.ok) throw await errorOf(response);
    this.id = (await response.json()).id;
    this.#progress(0);
  }

  /** Asks where the server stands; false when it no longer has the upload (expired, refused). */
  async #locate() {
    const response = await this.#tus("HEAD");
    if (response.status === 404) return false;
    if (!response.ok) throw new ApiError(response.status, "unknown", response.statusText);
    this.#progress(offsetOf(response));
    return true;
  }

  async #patch() {
    const chunk = this.file.slice(this.sent, this.sent + CHUNK_BYTES);
    const response = await this.#tus("PATCH", {
      "Upload-Offset": String(this.sent),
      "Content-Type": "application/offset+octet-stream",
    }, chunk);
    if (!response.ok) throw await errorOf(response);
    this.#progress(offsetOf(response));
  }

  #tus(method, headers = {}, body = undefined) {
    const signal = method === "DELETE" ? undefined : this.#controller.signal;
    return this.api.request(method, `/api/v1/uploads/${encodeURIComponent(this.id)}`, { headers: { ...TUS, ...headers }, body, signal });
  }

  #progress(offset) {
    if (Number.isSafeInteger(offset) && offset >= 0 && offset <= this.file.size) this.sent = offset;
    this.dispatchEvent(new Event("change"));
  }

  #set(state) {
    this.state = state;
    this.dispatchEvent(new Event("change"));
  }
}

/** The server's `Upload-Offset`; NaN (which moves nothing) when it is missing. */
function offsetOf(response) {
  const value = response.headers.get("Upload-Offset");
  return value === null ? NaN : Number(value);
}

/** Worth another try after a look at where the server stands: the connection dropped (fetch
 * rejects with a TypeError), the offset was not the server's (409), or the server had trouble. */
function transient(error) {
  if (error instanceof TypeError) return true;
  return error instanceof ApiError && (error.status === 409 || error.status >= 500);
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason); }, { once: true });
  });
}

/** tus metadata values are base64 of the UTF-8 bytes. */
function base64(text) {
  return btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""));
}

const maxSizes = new WeakMap(); // api -> Promise of the server's largest file

/** The server's largest file (`Tus-Max-Size`), asked once per session: a file over it is refused
 * before any byte is sent. Unknown (null) when the server does not say. */
function maxFileBytes(api) {
  if (!maxSizes.has(api)) {
    maxSizes.set(api, api.request("OPTIONS", "/api/v1/uploads", { headers: TUS })
      .then((r) => Number(r.headers.get("Tus-Max-Size")) || null)
      .catch(() => { maxSizes.delete(api); return null; }));
  }
  return maxSizes.get(api);
}

async function checkSize(api, file) {
  if (!file.size) throw new ApiError(400, "empty_file", "the file is empty");
  const max = await maxFileBytes(api);
  if (max && file.size > max) throw Object.assign(new ApiError(413, "file_too_large", "too large"), { max });
}

/** What went wrong with an upload, said for the person who sent it. */
function uploadProblem(error, file) {
  switch (error?.code) {
    case "empty_file": return "This file is empty.";
    case "file_too_large": return error.max ? `Too large: files can be up to ${fileSize(error.max)}.` : "Too large for this server.";
    case "quota_exceeded": return "Your upload space is full, or too many uploads are unfinished. Remove some and try again.";
    case "image_too_large": return "This image is too large to process. Try a smaller one.";
    case "invalid_image": return "This image cannot be read: it may be damaged or incomplete.";
    case "not_an_image": return "Not a picture Confab can use: choose a PNG, JPEG, GIF or WebP image.";
    case "checksum_mismatch": return "The file changed while it was being sent. Try again.";
    case "rate_limited": return "Too many uploads at once. Wait a moment, then retry.";
  }
  if (error instanceof TypeError || (error instanceof ApiError && error.status >= 500)) return "The connection was lost. Retry when you are back online.";
  if (error instanceof ApiError && error.status === 404) return `The upload of ${file.name || "this file"} expired. Retry to send it again.`;
  return error?.message || "The upload failed.";
}
