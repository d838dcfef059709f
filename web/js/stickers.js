// Stickers (docs/protocol.md "Stickers"): the server's packs, managed by its sticker admins and
// sent as messages of kind "sticker". No DOM here: the picker, the manage view, the timeline, the
// sidebar and notifications share these rules and words.
//
// A pack is {id, name, stickers: [Sticker]}; a Sticker {id, pack_id, shortcode, body (its alt
// text), url? (absent once removed), width, height}.

/** What the server accepts as a shortcode (unique in its pack). */
export const SHORTCODE = /^[a-z0-9_-]{1,32}$/;
/** The limits of a sticker's image and description (the server's; it has the last word). */
export const MAX_STICKER_BYTES = 512 * 1024;
export const MAX_STICKER_SIDE = 512;
export const MAX_STICKER_BODY = 100;
export const STICKER_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

/** Stickers of `packs` whose shortcode or description has a word starting with every word of
 * `query` (":wave" finds :wave:), shortcode matches first; all of them for an empty query. */
export function matchStickers(packs = [], query = "") {
  const terms = String(query).toLowerCase().replace(/:/g, " ").split(/\s+/).filter(Boolean);
  const all = packs.flatMap((pack) => pack.stickers || []).filter((s) => s.url);
  if (!terms.length) return all;
  const words = (s) => [s.shortcode.toLowerCase(), ...s.shortcode.toLowerCase().split(/[_-]+/), ...String(s.body || "").toLowerCase().split(/[^\p{L}\p{N}]+/u)].filter(Boolean);
  const found = all.filter((s) => terms.every((t) => words(s).some((w) => w.startsWith(t))));
  const byCode = found.filter((s) => s.shortcode.toLowerCase().startsWith(terms[0]));
  return [...byCode, ...found.filter((s) => !byCode.includes(s))];
}

/** The sticker with `id` in `packs`, or null. */
export function findSticker(packs = [], id) {
  for (const pack of packs) for (const s of pack.stickers || []) if (s.id === id) return s;
  return null;
}

/** A sticker message in a few words, for one-line previews, notifications and screen readers. */
export function stickerSummary(sticker) {
  if (!sticker) return "Sticker";
  return sticker.url ? `Sticker: ${sticker.body}` : `Sticker removed: ${sticker.body}`;
}

/** Why `file` (a File or {size, type}) cannot be a sticker, in words; null when it may be one.
 * The server checks again, and measures the picture (at most 512 × 512). */
export function stickerFileProblem(file) {
  if (!file) return "Choose an image first.";
  if (!STICKER_TYPES.includes(file.type)) return "A sticker is a PNG, JPEG, GIF or WebP image.";
  if (file.size > MAX_STICKER_BYTES) return `This image is ${Math.ceil(file.size / 1024)} KB: a sticker is at most 512 KB.`;
  return null;
}

/** Why `shortcode` is not one, in words; null when it is. */
export function shortcodeProblem(shortcode) {
  if (!shortcode) return "Give the sticker a shortcode.";
  if (!SHORTCODE.test(shortcode)) return "A shortcode has 1–32 lowercase letters, digits, _ or -.";
  return null;
}
