// Placeholder: replaced by the formatting helper's module at merge.
// A message body as DOM nodes: plain text, http(s) links (through the leaving-site warning) and
// the @mentions the server found, marked. Text only: nothing a user wrote is parsed as markup.

import { externalLink, h, trimUrl } from "./dom.js";

const TOKEN = /\bhttps?:\/\/[^\s<>"']+|(?<![\w.@])@[a-z0-9_.-]+/gi;

/** `text` as block nodes (put them in a `div`). `mentions`: the usernames mentioned (only they
 * are marked); `me`: the reader's username, whose mentions stand out. */
export function renderBody(text, { mentions = [], me = null } = {}) {
  const names = new Set(mentions.map((m) => String(m).toLowerCase()));
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    const token = match[0].startsWith("@") ? match[0].replace(/[.-]+$/, "") : trimUrl(match[0]);
    if (match.index > last) parts.push(text.slice(last, match.index));
    if (token.startsWith("@")) {
      const username = token.slice(1).toLowerCase();
      parts.push(names.has(username) ? h(`span.mention${username === me?.toLowerCase() ? ".mention-me" : ""}`, token) : token);
    } else {
      let parsed = null;
      try { parsed = new URL(token); } catch { /* not a URL after all */ }
      parts.push(parsed && (parsed.protocol === "https:" || parsed.protocol === "http:") ? externalLink(parsed.href, token) : token);
    }
    last = match.index + token.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return [h("p.plain", { dir: "auto" }, parts)];
}

/** The text without its markup (for previews and quotes): here, the text itself. */
export function plainText(text) {
  return text;
}
