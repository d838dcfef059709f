// Conversation themes (web/js/themes.js), without a browser: `node --test web/tests/`. The
// contrast maths of WCAG 2, the checks the server makes, and the colours derived for the chat
// view, every one of which must stay readable.

import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPalette, contrast, luminance, mix, muted, paintTheme, paletteOk, parseHex, ratioText, readable, textOn, themeVariables, tinted, toHex, unpaintTheme, variantOf } from "../js/themes.js";

const close = (actual, expected, digits = 2) => assert.ok(Math.abs(actual - expected) < 10 ** -digits, `${actual} ≈ ${expected}`);

const OCEAN = { accent: "#0b6bcb", background: "#eef6fb", text: "#0d2233", bubble: "#ffffff", bubble_text: "#0d2233", own_bubble: "#0b5cab", own_bubble_text: "#ffffff" };
const NIGHT = { accent: "#7cc4ff", background: "#0b1620", text: "#e3eef7", bubble: "#16283a", bubble_text: "#e3eef7", own_bubble: "#2a5d8a", own_bubble_text: "#ffffff" };

test("hex colours parse and print", () => {
  assert.deepEqual(parseHex("#0b6bcb"), [11, 107, 203]);
  assert.deepEqual(parseHex("#FFF"), [255, 255, 255]);
  for (const bad of ["0b6bcb", "#0b6bc", "#gggggg", "red", "", null, undefined, "#0b6bcb00"]) assert.equal(parseHex(bad), null, String(bad));
  assert.equal(toHex([11, 107, 203]), "#0b6bcb");
  assert.equal(toHex([300, -4, 127.6]), "#ff0080");
});

test("luminance and contrast are WCAG 2's", () => {
  close(luminance("#ffffff"), 1);
  close(luminance("#000000"), 0);
  close(luminance("#808080"), 0.2159, 3);
  close(contrast("#ffffff", "#000000"), 21);
  close(contrast("#000000", "#ffffff"), 21);
  close(contrast("#777777", "#ffffff"), 4.48);
  close(contrast("#767676", "#ffffff"), 4.54);
  close(contrast("#2456d6", "#ffffff"), 6.17, 1);
  assert.equal(contrast("#123456", "#123456"), 1);
  // Shown rounded down: 4.48 is not "4.5:1".
  assert.equal(ratioText(contrast("#777777", "#ffffff")), "4.4:1");
  assert.equal(ratioText(21), "21.0:1");
});

test("a palette is checked on the server's four pairs", () => {
  assert.ok(paletteOk(OCEAN));
  assert.ok(paletteOk(NIGHT));
  const grey = { ...OCEAN, text: "#9aa5b1" };
  const result = checkPalette(grey);
  assert.deepEqual(result.map((p) => p.ok), [false, true, true, true]);
  assert.equal(result[0].label, "Text on the background");
  assert.ok(result[0].ratio < 4.5);
  // The accent needs only 3:1 (it is not text).
  const accent = { ...OCEAN, accent: "#4a85c9" };
  assert.ok(contrast(accent.accent, accent.background) >= 3 && contrast(accent.accent, accent.background) < 4.5);
  assert.ok(paletteOk(accent));
  assert.equal(paletteOk({ ...OCEAN, accent: "#b8d4ee" }), false);
  assert.equal(paletteOk({ ...OCEAN, bubble: "nope" }), false);
});

test("derived colours: black or white on anything, accents moved until they read, tints that keep text readable", () => {
  assert.equal(textOn("#ffffff"), "#000000");
  assert.equal(textOn("#0b1620"), "#ffffff");
  for (const bg of ["#777777", "#2456d6", "#ff0000", "#00ff00", "#7aa2ff", "#808080"]) assert.ok(contrast(textOn(bg), bg) >= 4.5, bg);
  assert.equal(readable("#0b6bcb", "#ffffff", "#000000"), "#0b6bcb", "already readable: unchanged");
  const moved = readable("#4a85c9", "#eef6fb", "#0d2233");
  assert.ok(contrast(moved, "#eef6fb") >= 4.5);
  assert.notEqual(moved, "#0d2233", "moved only part of the way");
  assert.equal(mix("#000000", "#ffffff", 0.5), "#808080");
  const tint = tinted("#ffffff", "#0b6bcb", ["#0d2233"], 0.3);
  assert.notEqual(tint, "#ffffff");
  assert.ok(contrast("#0d2233", tint) >= 4.5);
  // A text at exactly the limit leaves no room for a tint behind it.
  assert.equal(tinted("#ffffff", "#000000", ["#767676"], 0.3), "#ffffff");
  const quiet = muted("#0d2233", "#eef6fb");
  assert.notEqual(quiet, "#0d2233");
  assert.ok(contrast(quiet, "#eef6fb") >= 4.5);
  assert.equal(muted("#767676", "#ffffff"), "#767676");
});

test("every text colour of the chat view reads on what it is drawn on, for palettes at the limits", () => {
  const edge = { accent: "#8c8c8c", background: "#ffffff", text: "#767676", bubble: "#767676", bubble_text: "#ffffff", own_bubble: "#000000", own_bubble_text: "#777777" };
  assert.ok(paletteOk({ ...edge, own_bubble_text: "#7a7a7a" }));
  for (const palette of [OCEAN, NIGHT, { ...edge, own_bubble_text: "#7a7a7a" }]) {
    const v = themeVariables(palette, { danger: "#b3261e" });
    const on = (text, bg, min = 4.5) => assert.ok(contrast(v[text], v[bg]) >= min, `${text} on ${bg}: ${contrast(v[text], v[bg]).toFixed(2)}`);
    for (const bg of ["--bg", "--accent-soft", "--mine", "--flash"]) on("--text", bg);
    for (const bg of ["--bg", "--accent-soft", "--mine"]) on("--accent", bg);
    on("--muted", "--bg");
    on("--danger", "--bg");
    on("--danger", "--danger-soft");
    on("--accent-text", "--accent");
    on("--focus", "--bg", 3);
    for (const s of ["bubble", "own-bubble"]) {
      for (const text of [`--${s}-text`, `--${s}-muted`, `--${s}-accent`]) on(text, `--${s}`);
      on(`--${s}-text`, `--${s}-code`);
      on(`--${s}-text`, `--${s}-flash`);
    }
  }
});

test("the variant follows the app; painting sets and removes the variables", () => {
  const theme = { preset: "ocean", light: OCEAN, dark: NIGHT };
  assert.equal(variantOf(theme, false), OCEAN);
  assert.equal(variantOf(theme, true), NIGHT);
  assert.equal(variantOf(null, true), null);

  const props = new Map();
  const classes = new Set();
  const el = {
    style: { setProperty: (k, v) => props.set(k, v), removeProperty: (k) => props.delete(k) },
    classList: { add: (c) => classes.add(c), remove: (c) => classes.delete(c) },
  };
  assert.equal(paintTheme(el, OCEAN), true);
  assert.equal(props.get("--bg"), OCEAN.background);
  assert.equal(props.get("--bubble"), OCEAN.bubble);
  assert.equal(props.get("--own-bubble-text"), OCEAN.own_bubble_text);
  assert.equal(props.get("color-scheme"), "light");
  assert.ok(classes.has("themed"));
  paintTheme(el, NIGHT);
  assert.equal(props.get("--bg"), NIGHT.background);
  assert.equal(props.get("color-scheme"), "dark");
  unpaintTheme(el);
  assert.equal(props.size, 0);
  assert.equal(classes.size, 0);
  // A palette the client cannot read paints nothing.
  assert.equal(paintTheme(el, { ...OCEAN, text: "blue" }), false);
  assert.equal(props.size, 0);
});
