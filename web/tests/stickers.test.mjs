// Stickers (web/js/stickers.js), without a browser: `node --test web/tests/`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { findSticker, matchStickers, shortcodeProblem, stickerFileProblem, stickerSummary } from "../js/stickers.js";

const sticker = (id, shortcode, body, url = `/m/${id}`) => ({ id, pack_id: "p", shortcode, body, url, width: 128, height: 128 });
const PACKS = [
  { id: "p1", name: "Harbour", stickers: [sticker("1", "wave", "A waving gull"), sticker("2", "gull_laugh", "A gull laughing"), sticker("3", "anchor", "An anchor")] },
  { id: "p2", name: "Weather", stickers: [sticker("4", "fog", "Fog over the bay"), sticker("5", "gone", "Removed one", null)] },
];
const codes = (list) => list.map((s) => s.shortcode);

test("search by shortcode or description, every word, shortcodes first", () => {
  assert.deepEqual(codes(matchStickers(PACKS, "gull")), ["gull_laugh", "wave"]);
  assert.deepEqual(codes(matchStickers(PACKS, ":wave:")), ["wave"]);
  assert.deepEqual(codes(matchStickers(PACKS, "laugh")), ["gull_laugh"], "a word of a shortcode");
  assert.deepEqual(codes(matchStickers(PACKS, "GULL wav")), ["wave"]);
  assert.deepEqual(codes(matchStickers(PACKS, "bay")), ["fog"]);
  assert.deepEqual(codes(matchStickers(PACKS, "nothing")), []);
});

test("an empty query is every sticker that can still be sent; a removed one never is", () => {
  assert.deepEqual(codes(matchStickers(PACKS, "  ")), ["wave", "gull_laugh", "anchor", "fog"]);
  assert.deepEqual(codes(matchStickers(PACKS, "removed")), []);
  assert.deepEqual(matchStickers(undefined, "x"), []);
});

test("a sticker by id, and a sticker message in words", () => {
  assert.equal(findSticker(PACKS, "4").shortcode, "fog");
  assert.equal(findSticker(PACKS, "9"), null);
  assert.equal(stickerSummary(PACKS[0].stickers[0]), "Sticker: A waving gull");
  assert.equal(stickerSummary({ body: "A waving gull" }), "Sticker removed: A waving gull");
  assert.equal(stickerSummary(undefined), "Sticker");
});

test("what can be a sticker, said before uploading", () => {
  assert.equal(stickerFileProblem({ type: "image/png", size: 512 * 1024 }), null);
  assert.match(stickerFileProblem({ type: "image/png", size: 512 * 1024 + 1 }), /at most 512 KB/);
  assert.match(stickerFileProblem({ type: "image/svg+xml", size: 10 }), /PNG, JPEG, GIF or WebP/);
  assert.match(stickerFileProblem(null), /Choose an image/);
  for (const ok of ["wave", "a", "gull_laugh-2", "x".repeat(32)]) assert.equal(shortcodeProblem(ok), null, ok);
  for (const bad of ["", "Wave", "two words", "x".repeat(33), ":wave:", "é"]) assert.ok(shortcodeProblem(bad), JSON.stringify(bad));
});
