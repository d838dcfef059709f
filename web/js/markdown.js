// Placeholder: replaced by the formatting helper's module at merge.
// A message body as DOM nodes: plain text, http(s) links (through the leaving-site warning) and
// @mentions marked. Text only: nothing a user wrote is ever parsed as markup.

import { externalLink, h, trimUrl } from "./dom.js";

const TOKEN = /\bhttps?:\/\/[^\s<>"']+|(?<![\w.@])@[a-z0-9_.-]+/gi;

/** `text` as an array of nodes; `mentions` (user ids) is accepted for the real module's sake. */
export function renderBody(text, { mentions = [] } = {}) {
  void mentions;
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    let token = match[0];
    if (token.startsWith("@")) token = token.replace(/[.-]+$/, "");
    else token = trimUrl(token);
    if (match.index > last) parts.push(document.createTextNode(text.slice(last, match.index)));
    if (token.startsWith("@")) {
      parts.push(h("span.mention", token));
    } else {
      let parsed = null;
      try { parsed = new URL(token); } catch { /* not a URL after all */ }
      parts.push(parsed && (parsed.protocol === "https:" || parsed.protocol === "http:") ? externalLink(parsed.href, token) : document.createTextNode(token));
    }
    last = match.index + token.length;
  }
  if (last < text.length) parts.push(document.createTextNode(text.slice(last)));
  return parts;
}
