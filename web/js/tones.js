// Tone indicators (`/j` joking, `/srs` serious, …): how a message is meant, kept by the server
// as data beside the text (`Message.tones`, docs/protocol.md "Tone indicators"). No DOM here:
// the composer, the timeline, the sidebar and notifications share these words and rules.
//
// `known` is the server's list (`GET /api/v1/tones`): [{code, meaning, aliases}].

/** Tones one message may carry (the server's MAX_TONES). */
export const MAX_TONES = 5;

// The server splits on Unicode White_Space (Rust's char::is_whitespace), which JavaScript's \s
// does not match exactly (it adds U+FEFF, lacks U+0085).
const SPACE = "\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const TRAILING_SPACE = new RegExp(`[${SPACE}]+$`);
const LAST_WORD = new RegExp(`^([\\s\\S]*)[${SPACE}]([^${SPACE}]*)$`);

/** The code that `word` (a code or an alias, any case, with or without the slash) stands for. */
export function canonical(word, known = []) {
  const code = String(word).replace(/^\//, "").toLowerCase();
  if (!code) return null;
  const tone = known.find((t) => t.code.toLowerCase() === code || (t.aliases || []).some((a) => a.toLowerCase() === code));
  return tone ? tone.code : null;
}

/**
 * What the server will lift off the end of `body` (unless sent `literal`): the body it keeps and
 * the codes, in order. The same rule as the server's: whitespace-separated `/code` words at the
 * very end, stopping at the first word that is not one, and never leaving the body blank.
 */
export function liftTones(body, known = []) {
  let kept = String(body).replace(TRAILING_SPACE, "");
  const lifted = [];
  for (;;) {
    const match = LAST_WORD.exec(kept);
    if (!match) break;
    const [, before, word] = match;
    const code = word.startsWith("/") ? canonical(word, known) : null;
    if (!code) break;
    // Nothing but indicators: the message is about them, and stays as written.
    if (!before.trim()) return { body, tones: [] };
    lifted.unshift(code);
    kept = before.replace(TRAILING_SPACE, "");
  }
  return lifted.length ? { body: kept, tones: lifted } : { body, tones: [] };
}

/** The tones a message ends up with: those chosen first, then those lifted, each once. */
export function mergeTones(chosen = [], lifted = []) {
  return [...new Set([...chosen, ...lifted])];
}

/** The text an edit starts from: the body followed by ` /code` for each tone, so that saving it
 * unchanged lifts them back (and deleting one removes it). */
export function editText(message) {
  return (message.body || "") + (message.tones || []).map((code) => ` /${code}`).join("");
}

/** Whether a message was sent `literal`: its text ends in indicators the server would have
 * lifted, and it has none. Its edit keeps them as text too. */
export function wasLiteral(message, known = []) {
  return !(message.tones || []).length && liftTones(message.body || "", known).tones.length > 0;
}

/** What `code` means ("joking"), or the code itself for one this client does not know. */
export function meaning(code, known = []) {
  return known.find((t) => t.code === code)?.meaning || code;
}

/** `text` with its tones appended as typed (`"sure /s"`): for one-line previews and notifications. */
export function withTones(text, tones = []) {
  if (!tones?.length) return text;
  const codes = tones.map((code) => `/${code}`).join(" ");
  return text ? `${text} ${codes}` : codes;
}

/** The meanings, for screen readers: "joking, light-hearted". */
export function toneWords(tones = [], known = []) {
  return (tones || []).map((code) => meaning(code, known)).join(", ");
}
