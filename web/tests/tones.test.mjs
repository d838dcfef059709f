// Tone indicators (web/js/tones.js), without a browser: `node --test web/tests/`. The lifting
// cases are the server's own (crates/confab-server/src/messages/tones.rs), so that what the
// composer says will happen is what happens.

import { test } from "node:test";
import assert from "node:assert/strict";
import { canonical, editText, liftTones, meaning, mergeTones, toneWords, wasLiteral, withTones } from "../js/tones.js";

const KNOWN = [
  { code: "j", meaning: "joking", aliases: [] },
  { code: "s", meaning: "sarcastic", aliases: ["sarc"] },
  { code: "srs", meaning: "serious", aliases: [] },
  { code: "lh", meaning: "light-hearted", aliases: [] },
  { code: "pos", meaning: "positive connotation", aliases: ["pc"] },
  { code: "gen", meaning: "genuine", aliases: ["g"] },
  { code: "gg", meaning: "good game", aliases: [] },
];
const lift = (body) => liftTones(body, KNOWN);

test("trailing indicators are lifted off the body, as the server does", () => {
  assert.deepEqual(lift("you're the worst /j"), { body: "you're the worst", tones: ["j"] });
  assert.deepEqual(lift("fine. /lh /pos  \n"), { body: "fine.", tones: ["lh", "pos"] });
  assert.deepEqual(lift("sure /SARC /s"), { body: "sure", tones: ["s", "s"] });
  assert.deepEqual(lift("well played /gg"), { body: "well played", tones: ["gg"] });
  assert.deepEqual(lift("line one\nline two\n/srs"), { body: "line one\nline two", tones: ["srs"] });
  assert.deepEqual(lift("tab\t/j"), { body: "tab", tones: ["j"] });
  assert.deepEqual(lift("ideographic space\u3000/j"), { body: "ideographic space", tones: ["j"] });
});

test("what is not a trailing indicator stays text", () => {
  for (const body of ["/j", "  /j /s", "an /unknown tag", "ends in /unknown", "a/j", "/j at the start", "path /usr/bin", "", "   "]) {
    assert.deepEqual(lift(body), { body, tones: [] }, JSON.stringify(body));
  }
  assert.deepEqual(lift("ok /j /unknown"), { body: "ok /j /unknown", tones: [] });
  assert.deepEqual(lift("ok /unknown /j"), { body: "ok /unknown", tones: ["j"] });
  // Without the list (not loaded yet), nothing is known.
  assert.deepEqual(liftTones("hi /j"), { body: "hi /j", tones: [] });
});

test("a long body is lifted without pathological backtracking", () => {
  const body = `${"word ".repeat(700)}${" /j".repeat(400)}`;
  const started = performance.now();
  assert.equal(lift(body).tones.length, 400);
  // Not a performance target (this takes a few ms): a guard far above any machine's noise that
  // catches a regular expression gone exponential, which would take many seconds here.
  assert.ok(performance.now() - started < 2000);
});

test("codes and aliases, any case, become the code; repeats collapse in the merge, chosen first", () => {
  assert.equal(canonical("/SARC", KNOWN), "s");
  assert.equal(canonical("g", KNOWN), "gen");
  assert.equal(canonical("/nope", KNOWN), null);
  assert.equal(canonical("/", KNOWN), null);
  assert.deepEqual(mergeTones(["lh", "j"], ["j", "s", "s"]), ["lh", "j", "s"]);
});

test("an edit starts from the body and its tones as typed; a literal message is recognised", () => {
  assert.equal(editText({ body: "you're the worst", tones: ["j", "lh"] }), "you're the worst /j /lh");
  assert.equal(editText({ body: "plain" }), "plain");
  // Saving the text unchanged gives the same message back.
  assert.deepEqual(lift(editText({ body: "you're the worst", tones: ["j", "lh"] })), { body: "you're the worst", tones: ["j", "lh"] });
  assert.equal(wasLiteral({ body: "what does /srs mean? /srs" }, KNOWN), true);
  assert.equal(wasLiteral({ body: "see /j", tones: [] }, KNOWN), true);
  assert.equal(wasLiteral({ body: "see", tones: ["j"] }, KNOWN), false);
  assert.equal(wasLiteral({ body: "/j" }, KNOWN), false);
});

test("words for previews and screen readers", () => {
  assert.equal(withTones("sure", ["s"]), "sure /s");
  assert.equal(withTones("sure", []), "sure");
  assert.equal(withTones("", ["j", "lh"]), "/j /lh");
  assert.equal(withTones("sure", undefined), "sure");
  assert.equal(meaning("lh", KNOWN), "light-hearted");
  assert.equal(meaning("zz", KNOWN), "zz");
  assert.equal(toneWords(["j", "lh"], KNOWN), "joking, light-hearted");
});
