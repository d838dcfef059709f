// The BlurHash decoder (web/js/blurhash.js), without a browser: `node --test web/tests/`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { blurhashCanvas, components, decode } from "../js/blurhash.js";

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
const base83 = (value, length) => Array.from({ length }, (_, i) => DIGITS[Math.floor(value / 83 ** (length - 1 - i)) % 83]).join("");

/** The mean sRGB colour of decoded pixels. */
function mean(pixels) {
  const sum = [0, 0, 0];
  for (let i = 0; i < pixels.length; i += 4) for (let c = 0; c < 3; c++) sum[c] += pixels[i + c];
  return sum.map((s) => s / (pixels.length / 4));
}

test("a hash of one component is its colour, in every pixel", () => {
  for (const [r, g, b] of [[255, 0, 0], [18, 52, 86], [255, 255, 255], [0, 0, 0]]) {
    const hash = `00${base83((r << 16) | (g << 8) | b, 4)}`;
    const pixels = decode(hash, 5, 3);
    assert.equal(pixels.length, 5 * 3 * 4);
    for (let i = 0; i < pixels.length; i += 4) assert.deepEqual([...pixels.slice(i, i + 4)], [r, g, b, 255], hash);
  }
});

test("the reference hash decodes to its average colour, #979695, with its 4×3 components", () => {
  // blurha.sh's example; characters 2–5 ("HV6n") are the average colour 0x979695.
  const hash = "LEHV6nWB2yk8pyo0adR*.7kCMdnj";
  const { x, y } = components(hash);
  assert.deepEqual([x, y], [4, 3]);
  const pixels = decode(hash, 32, 32);
  const [r, g, b] = mean(pixels);
  for (const [got, expected] of [[r, 0x97], [g, 0x96], [b, 0x95]]) assert.ok(Math.abs(got - expected) <= 4, `${got} vs ${expected}`);
  // Not flat: the AC components draw something.
  assert.notDeepEqual([...pixels.slice(0, 3)], [...pixels.slice(-4, -1)]);
});

test("more punch means more contrast around the same average", () => {
  const hash = "LEHV6nWB2yk8pyo0adR*.7kCMdnj";
  const spread = (pixels) => { let lo = 255, hi = 0; for (let i = 0; i < pixels.length; i += 4) { lo = Math.min(lo, pixels[i]); hi = Math.max(hi, pixels[i]); } return hi - lo; };
  assert.ok(spread(decode(hash, 16, 16, 2)) > spread(decode(hash, 16, 16, 1)));
});

test("malformed hashes throw, and the canvas helper gives none instead of failing", () => {
  for (const bad of [
    "",
    "LEHV6",
    "LEHV6nWB2yk8pyo0adR*.7kCMdn", // one character short of 4×3 components
    "LEHV6nWB2yk8pyo0adR*.7kCMdnjj", // one too many
    "LEHV6nWB2yk8pyo0adR*.7kCMd\"j", // not a base-83 digit
    "00ÿÿÿÿ",
    null,
    42,
  ]) {
    assert.throws(() => decode(bad, 4, 4), /blurhash/, JSON.stringify(bad));
    assert.equal(blurhashCanvas(bad), null);
  }
});
