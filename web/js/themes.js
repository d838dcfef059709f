// Conversation themes (docs/protocol.md "Conversation themes"): a palette per variant (light,
// dark) that the open conversation is painted with, as the CSS variables of style.css and
// timeline.css, set on the chat view only (the sidebar and dialogs keep the app's colours).
//
// A palette names seven colours; the stylesheets use about twenty. The rest are derived here so
// that every text the chat view shows stays readable (WCAG AA) on what it is drawn on: where a
// colour the palette gives is not readable as text (an accent needs only 3:1), it is moved
// towards the palette's text colour until it is. The maths is pure and tested in Node
// (web/tests/themes.test.mjs); only `paintTheme` / `unpaintTheme` touch an element.

/** The fields of a Palette, in the order the editor shows them. */
export const PALETTE_FIELDS = ["background", "text", "accent", "bubble", "bubble_text", "own_bubble", "own_bubble_text"];

export const FIELD_LABELS = {
  background: "Background",
  text: "Text",
  accent: "Accent",
  bubble: "Others' messages",
  bubble_text: "Text of others' messages",
  own_bubble: "Your messages",
  own_bubble_text: "Text of your messages",
};

/** The pairs the server checks (and refuses below `min` with `400 low_contrast`). */
export const PAIRS = [
  { text: "text", on: "background", min: 4.5, label: "Text on the background" },
  { text: "bubble_text", on: "bubble", min: 4.5, label: "Text on others' messages" },
  { text: "own_bubble_text", on: "own_bubble", min: 4.5, label: "Text on your messages" },
  { text: "accent", on: "background", min: 3, label: "Accent on the background" },
];

/** `#rrggbb` (or `#rgb`) → [r, g, b]; null for anything else. */
export function parseHex(value) {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(String(value || "").trim());
  if (!m) return null;
  const hex = m[1].length === 3 ? [...m[1]].map((c) => c + c).join("") : m[1];
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

export function toHex(rgb) {
  return `#${rgb.map((c) => Math.round(Math.min(255, Math.max(0, c))).toString(16).padStart(2, "0")).join("")}`;
}

/** WCAG 2 relative luminance of an sRGB colour. */
export function luminance(colour) {
  const rgb = typeof colour === "string" ? parseHex(colour) : colour;
  const [r, g, b] = rgb.map((c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The WCAG 2 contrast ratio of two colours, 1 to 21. */
export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** "4.5:1", rounded down so that a ratio shown as passing does pass. */
export function ratioText(ratio) {
  return `${(Math.floor(ratio * 10) / 10).toFixed(1)}:1`;
}

/** Each pair of the palette with its ratio and whether it passes. */
export function checkPalette(palette) {
  return PAIRS.map((pair) => {
    const text = parseHex(palette?.[pair.text]);
    const on = parseHex(palette?.[pair.on]);
    const ratio = text && on ? contrast(text, on) : 1;
    return { ...pair, ratio, ok: ratio >= pair.min };
  });
}

export function paletteOk(palette) {
  return checkPalette(palette).every((pair) => pair.ok);
}

/** `a` moved towards `b` by `t` (0–1), in sRGB, as CSS `color-mix(in srgb, …)` does. */
export function mix(a, b, t) {
  const x = typeof a === "string" ? parseHex(a) : a;
  const y = typeof b === "string" ? parseHex(b) : b;
  return toHex(x.map((c, i) => c + (y[i] - c) * t));
}

/** Black or white, whichever reads better on `background` (one of them is always ≥ 4.5:1). */
export function textOn(background) {
  return contrast("#000000", background) >= contrast("#ffffff", background) ? "#000000" : "#ffffff";
}

/** `colour` if it reads on `background` at `min`; else `colour` moved towards `fallback` (a
 * colour that does read there) just far enough. */
export function readable(colour, background, fallback, min = 4.5) {
  if (contrast(colour, background) >= min) return toHex(parseHex(colour));
  const safe = contrast(fallback, background) >= min ? fallback : textOn(background);
  for (let step = 1; step <= 20; step++) {
    const candidate = mix(colour, safe, step / 20);
    if (contrast(candidate, background) >= min) return candidate;
  }
  return toHex(parseHex(safe));
}

/** `base` tinted with up to `amount` of `tint`, less where needed so that every colour of
 * `texts` still reads on it: highlights behind text (pressed reactions, flashes, mentions). */
export function tinted(base, tint, texts, amount, min = 4.5) {
  for (let t = amount; t > 0.001; t -= 0.02) {
    const candidate = mix(base, tint, t);
    if (texts.every((text) => contrast(text, candidate) >= min)) return candidate;
  }
  return toHex(parseHex(base));
}

/** A quieter version of `text` on `background` (times, day labels, system entries) that still
 * reads at 4.5:1, or `text` itself when it has no contrast to spare. */
export function muted(text, background, min = 4.5) {
  for (let t = 0.45; t > 0.001; t -= 0.05) {
    const candidate = mix(text, background, t);
    if (contrast(candidate, background) >= min) return candidate;
  }
  return toHex(parseHex(text));
}

/** The variables of one surface (others' or your messages): its colour, its text, and the
 * quieter text, links, borders, code and highlights drawn on it. */
function surface(prefix, fill, text, accent) {
  return {
    [`--${prefix}`]: toHex(parseHex(fill)),
    [`--${prefix}-text`]: toHex(parseHex(text)),
    [`--${prefix}-muted`]: muted(text, fill),
    [`--${prefix}-accent`]: readable(accent, fill, text),
    [`--${prefix}-border`]: mix(fill, text, 0.25),
    [`--${prefix}-code`]: tinted(fill, text, [text], 0.08),
    [`--${prefix}-flash`]: tinted(fill, accent, [text], 0.3),
  };
}

/**
 * The CSS variables for `palette` (all `#rrggbb`). `app` holds app colours that the palette does
 * not name but the chat view shows as text (`danger`: the "New messages" divider, errors), which
 * are kept readable on the new background.
 */
export function themeVariables(palette, app = {}) {
  const { background, text } = palette;
  const accent = readable(palette.accent, background, text);
  const danger = readable(app.danger || "#b3261e", background, text);
  return {
    "--bg": background, "--panel": background, "--raised": background,
    "--text": text,
    "--muted": muted(text, background),
    "--border": mix(background, text, 0.16),
    "--border-strong": mix(background, text, 0.34),
    "--hover": mix(background, text, 0.06),
    // Accent as text (links, mentions, secondary buttons) reads at 4.5:1; the palette's own
    // accent (3:1) marks what is not text: focus rings and the edges of quotes and cards.
    "--accent": accent,
    "--accent-hover": mix(accent, text, 0.15),
    "--accent-text": textOn(accent),
    "--accent-soft": tinted(background, accent, [text, accent], 0.16),
    "--theme-accent": toHex(parseHex(palette.accent)),
    "--focus": toHex(parseHex(palette.accent)),
    "--mine": tinted(background, accent, [text, accent], 0.14),
    "--flash": tinted(background, accent, [text], 0.28),
    "--danger": danger,
    "--danger-soft": tinted(background, danger, [text, danger], 0.14),
    ...surface("bubble", palette.bubble, palette.bubble_text, palette.accent),
    ...surface("own-bubble", palette.own_bubble, palette.own_bubble_text, palette.accent),
  };
}

/** The palette of `theme` ({light, dark}) for the app's current look. */
export function variantOf(theme, dark) {
  return theme ? (dark ? theme.dark : theme.light) : null;
}

const PAINTED = new WeakMap(); // element -> the variable names set on it

/** Paints `el` with `palette` (the chat view: `.chat` gets the class `themed`); null unpaints. */
export function paintTheme(el, palette, app = {}) {
  unpaintTheme(el);
  if (!palette || PALETTE_FIELDS.some((f) => !parseHex(palette[f]))) return false;
  const vars = themeVariables(palette, app);
  // CSSOM, not a style attribute: the page's CSP refuses inline styles.
  for (const [name, value] of Object.entries(vars)) el.style.setProperty(name, value);
  el.style.setProperty("color-scheme", luminance(palette.background) < 0.2 ? "dark" : "light");
  el.classList.add("themed");
  PAINTED.set(el, Object.keys(vars));
  return true;
}

export function unpaintTheme(el) {
  for (const name of PAINTED.get(el) || []) el.style.removeProperty(name);
  el.style.removeProperty("color-scheme");
  el.classList.remove("themed");
  PAINTED.delete(el);
}
