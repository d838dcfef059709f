// The tus client (web/js/uploads.js) against a tus server in memory, and the words for files
// (web/js/files.js): `node --test web/tests/`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { CHUNK_BYTES, Upload } from "../js/uploads.js";
import { attachmentSummary, fileKind, fileSize, isPicture } from "../js/files.js";

/** A tus 1.0.0 server as `api.request` sees it. `faults` may break a request before (`"drop"`:
 * nothing arrives) or after the server took its bytes (`"lose"`: the answer is lost), or answer a
 * PATCH whose bytes a proxy had already replayed (`"replayed"`: 409). */
function tusServer({ maxSize = 1 << 30, faults = () => null, refuse = null } = {}) {
  const uploads = new Map();
  const log = [];
  const answer = (status, headers = {}, body = null) => new Response(body === null ? null : JSON.stringify(body), { status, headers });
  const request = async (method, path, { headers = {}, body, signal } = {}) => {
    if (signal?.aborted) throw new DOMException("aborted", "AbortError");
    log.push(`${method} ${path}${headers["Upload-Offset"] !== undefined ? ` @${headers["Upload-Offset"]}` : ""}`);
    if (method === "OPTIONS") return answer(204, { "Tus-Max-Size": String(maxSize) });
    assert.equal(headers["Tus-Resumable"], "1.0.0", `${method} names the tus version`);
    const fault = faults(method, log.length);
    if (fault === "drop") throw new TypeError("Failed to fetch");
    if (method === "POST") {
      const id = String(uploads.size + 1);
      const metadata = Object.fromEntries(headers["Upload-Metadata"].split(",").map((pair) => pair.split(" ")).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
      uploads.set(id, { length: Number(headers["Upload-Length"]), bytes: Buffer.alloc(0), metadata });
      return answer(201, { "Upload-Offset": "0" }, { id, offset: 0 });
    }
    const id = path.split("/").pop();
    const upload = uploads.get(id);
    if (!upload) return answer(404, {}, { error: { code: "not_found", message: "no such upload" } });
    if (method === "HEAD") return answer(200, { "Upload-Offset": String(upload.bytes.length) });
    if (method === "DELETE") { uploads.delete(id); return answer(204); }
    assert.equal(headers["Content-Type"], "application/offset+octet-stream");
    if (fault === "replayed") upload.bytes = Buffer.concat([upload.bytes, Buffer.from(await body.arrayBuffer())]);
    if (Number(headers["Upload-Offset"]) !== upload.bytes.length) return answer(409, {}, { error: { code: "offset_mismatch", message: "wrong offset" } });
    upload.bytes = Buffer.concat([upload.bytes, Buffer.from(await body.arrayBuffer())]);
    if (upload.bytes.length === upload.length && refuse) { uploads.delete(id); return answer(400, {}, { error: { code: refuse, message: refuse } }); }
    if (fault === "lose") throw new TypeError("Failed to fetch");
    return answer(204, { "Upload-Offset": String(upload.bytes.length) });
  };
  return { api: { request }, uploads, log };
}

const bytes = (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = i % 251; return b; };
const file = (n, name = "notes.txt") => new File([bytes(n)], name);
const step = (line) => line.replace("/api/v1/uploads", "").trim();

test("a file goes in chunks, with its name and purpose as tus metadata, and progress after each", async () => {
  const server = tusServer();
  const upload = new Upload(server.api, file(2 * CHUNK_BYTES + 10, "résumé ✓.pdf"));
  const seen = [];
  upload.addEventListener("change", () => seen.push(upload.sent));
  assert.equal(await upload.start(), "1");
  assert.equal(upload.state, "complete");
  const stored = server.uploads.get("1");
  assert.deepEqual(stored.metadata, { filename: "résumé ✓.pdf", purpose: "attachment" });
  assert.deepEqual(stored.bytes, Buffer.from(bytes(2 * CHUNK_BYTES + 10)));
  assert.deepEqual(server.log.filter((l) => l.startsWith("PATCH")), ["PATCH /api/v1/uploads/1 @0", `PATCH /api/v1/uploads/1 @${CHUNK_BYTES}`, `PATCH /api/v1/uploads/1 @${2 * CHUNK_BYTES}`]);
  assert.deepEqual([...new Set(seen)], [0, CHUNK_BYTES, 2 * CHUNK_BYTES, 2 * CHUNK_BYTES + 10]);
});

test("a dropped PATCH is resumed from the offset HEAD gives, and a lost answer is not sent twice", async () => {
  let patches = 0;
  const server = tusServer({ faults: (method) => method === "PATCH" ? [null, "drop", "lose"][patches++] ?? null : null });
  const upload = new Upload(server.api, file(3 * CHUNK_BYTES));
  await upload.start();
  assert.deepEqual(server.uploads.get("1").bytes, Buffer.from(bytes(3 * CHUNK_BYTES)));
  assert.deepEqual(server.log.map(step), [
    "OPTIONS", "POST",
    "PATCH /1 @0",
    `PATCH /1 @${CHUNK_BYTES}`, "HEAD /1", // dropped: nothing arrived
    `PATCH /1 @${CHUNK_BYTES}`, "HEAD /1", // arrived, answer lost: HEAD says so
    `PATCH /1 @${2 * CHUNK_BYTES}`,
  ]);
});

test("a 409 asks where the server stands and goes on from there", async () => {
  let patches = 0;
  const server = tusServer({ faults: (method) => (method === "PATCH" && patches++ === 0 ? "replayed" : null) });
  await new Upload(server.api, file(2 * CHUNK_BYTES)).start();
  assert.deepEqual(server.uploads.get("1").bytes, Buffer.from(bytes(2 * CHUNK_BYTES)));
  assert.deepEqual(server.log.filter((l) => !l.startsWith("OPTIONS")).map(step), ["POST", "PATCH /1 @0", "HEAD /1", `PATCH /1 @${CHUNK_BYTES}`]);
});

test("after a few failed tries the upload fails with words for people, and Retry resumes it", async (t) => {
  let down = true;
  const server = tusServer({ faults: (method) => (down && method === "PATCH" ? "drop" : null) });
  const upload = new Upload(server.api, file(10));
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const failed = upload.start().catch((error) => error);
  // The waits between tries pass at once; each try's requests run in between.
  for (let i = 0; i < 40; i++) { await new Promise((r) => setImmediate(r)); t.mock.timers.tick(8000); }
  t.mock.timers.reset();
  assert.match((await failed).message, /connection was lost/);
  assert.equal(server.log.filter((l) => l.startsWith("PATCH")).length, 6, "the first try and five more");
  assert.equal(upload.state, "failed");
  down = false;
  assert.equal(await upload.start(), "1", "the same upload, resumed");
  assert.equal(server.uploads.size, 1);
});

test("refusals become clear sentences", async () => {
  const cases = [
    [{ maxSize: 5 }, 10, /Too large: files can be up to 5 bytes/],
    [{ refuse: "invalid_image" }, 10, /cannot be read/],
    [{ refuse: "not_an_image" }, 10, /PNG, JPEG, GIF or WebP/],
    [{ refuse: "image_too_large" }, 10, /too large to process/],
    [{}, 0, /empty/],
  ];
  for (const [options, size, words] of cases) {
    const upload = new Upload(tusServer(options).api, file(size));
    await assert.rejects(upload.start(), words);
    assert.match(upload.error, words);
  }
}, { timeout: 5000 });

test("cancel stops sending and deletes the upload on the server", async () => {
  const server = tusServer();
  const upload = new Upload(server.api, file(3 * CHUNK_BYTES), { purpose: "avatar" });
  upload.addEventListener("change", () => { if (upload.sent === CHUNK_BYTES) upload.cancel(); });
  await assert.rejects(upload.start(), /cancelled/);
  assert.equal(upload.state, "cancelled");
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.uploads.size, 0, "DELETE sent");
  assert.ok(server.log.includes("DELETE /api/v1/uploads/1"));
  assert.equal(server.log.filter((l) => l.startsWith("PATCH")).length, 1, "nothing sent after cancel");
});

test("pause stops sending but keeps the upload; resuming asks the server's offset and finishes it", async () => {
  const server = tusServer();
  const upload = new Upload(server.api, file(3 * CHUNK_BYTES + 5));
  const states = [];
  upload.addEventListener("change", () => states.push(upload.state));
  const pauseAfterFirstChunk = () => { if (upload.sent === CHUNK_BYTES) { upload.removeEventListener("change", pauseAfterFirstChunk); upload.pause(); } };
  upload.addEventListener("change", pauseAfterFirstChunk);
  let settled = false;
  const done = upload.start().finally(() => { settled = true; });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(upload.state, "paused");
  assert.equal(upload.error, null, "a pause is no failure");
  assert.equal(settled, false, "start() waits through the pause");
  assert.equal(upload.sent, CHUNK_BYTES, "the progress stays where it was");
  assert.equal(server.uploads.get("1").bytes.length, CHUNK_BYTES, "the server keeps what arrived");
  assert.ok(!server.log.some((l) => l.startsWith("DELETE")), "no DELETE");
  const paused = server.log.length;

  assert.equal(await upload.start(), "1", "resumed: the same upload, and the first start() resolves");
  assert.equal(upload.state, "complete");
  assert.deepEqual(server.log.slice(paused).map(step), ["HEAD /1", `PATCH /1 @${CHUNK_BYTES}`, `PATCH /1 @${2 * CHUNK_BYTES}`, `PATCH /1 @${3 * CHUNK_BYTES}`]);
  assert.deepEqual(server.uploads.get("1").bytes, Buffer.from(bytes(3 * CHUNK_BYTES + 5)), "the whole file");
  assert.ok(!states.includes("failed"));
  assert.deepEqual(states.filter((s, i) => s !== states[i - 1]), ["uploading", "paused", "uploading", "complete"]);
  await done;
});

test("a pause while waiting to retry is no failure, and the tries start afresh on resume", async (t) => {
  let drops = 5; // the last wait before the upload would fail
  const server = tusServer({ faults: (method) => (method === "PATCH" && drops-- > 0 ? "drop" : null) });
  const upload = new Upload(server.api, file(10));
  const states = [];
  upload.addEventListener("change", () => states.push(upload.state));
  const patches = () => server.log.filter((l) => l.startsWith("PATCH")).length;
  const run = async (until) => {
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setImmediate(r));
      if (until()) return;
      t.mock.timers.tick(8000);
    }
  };
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const done = upload.start();
  await run(() => patches() === 5); // the fifth drop is waiting out its backoff, the last one
  upload.pause();
  await new Promise((r) => setImmediate(r));
  assert.equal(upload.state, "paused");
  assert.equal(upload.error, null);
  drops = 5;
  upload.start();
  await run(() => upload.state === "complete");
  t.mock.timers.reset();
  assert.equal(await done, "1", "five more drops after the resume, and still no failure");
  assert.equal(patches(), 11);
  assert.ok(!states.includes("failed"));
});

test("cancel while paused deletes the upload", async () => {
  const server = tusServer();
  const upload = new Upload(server.api, file(2 * CHUNK_BYTES));
  upload.addEventListener("change", () => { if (upload.sent === CHUNK_BYTES) upload.pause(); }); // once: it stays paused
  const done = upload.start();
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(upload.state, "paused");
  upload.cancel();
  await assert.rejects(done, /cancelled/);
  assert.equal(upload.state, "cancelled");
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(server.uploads.size, 0, "DELETE sent");
  assert.equal(server.log.filter((l) => l.startsWith("PATCH")).length, 1, "nothing sent after the pause");
});

test("file sizes, kinds and summaries", () => {
  assert.deepEqual([0, 1, 1023, 1024, 1536, 10 * 1024, 5.5 * 1024 * 1024, 3 * 1024 ** 3].map(fileSize),
    ["0 bytes", "1 byte", "1023 bytes", "1 KB", "1.5 KB", "10 KB", "5.5 MB", "3 GB"]);
  assert.equal(fileKind({ mime: "application/pdf", name: "x" }).label, "PDF");
  assert.equal(fileKind({ mime: "application/octet-stream", name: "page.HTML" }).label, "CODE", "an unknown type goes by the name");
  assert.equal(fileKind({ mime: "application/octet-stream", name: "noidea" }).label, "FILE");
  assert.equal(isPicture({ mime: "image/png", width: 10, height: 10 }), true);
  assert.equal(isPicture({ mime: "image/svg+xml", name: "x.svg" }), false, "SVG is a file");
  const png = { name: "a.png", mime: "image/png", width: 1, height: 1 };
  assert.equal(attachmentSummary([png]), "🖼 a.png");
  assert.equal(attachmentSummary([png, png]), "🖼 2 images");
  assert.equal(attachmentSummary([png, { name: "b.pdf", mime: "application/pdf" }]), "📎 2 files");
  assert.equal(attachmentSummary([]), "");
});
