// Message formatting: a safe subset of Markdown (docs/formatting.md). The server keeps the text
// as typed; the client parses it here into a small tree of plain objects (`parse`, pure, tested
// in Node without a DOM) and builds DOM nodes from that tree with `h()` (`renderBody`). There is
// no HTML in the subset and no path from the text to markup: every piece of it ends up in a text
// node, and links only ever point to http, https or mailto URLs.
//
// The tree: `{type: "root", children: [block]}` where a block is
//   {type: "paragraph", children: [inline]}   {type: "codeblock", lang, text}
//   {type: "quote", children: [block]}         {type: "list", ordered, start, children: [{type: "item", children: [block]}]}
// and an inline is
//   {type: "text", text}  {type: "code", text}  {type: "link", href, text}  {type: "mention", username, text}
//   {type: "bold" | "italic" | "strike" | "spoiler", children: [inline]}
//
// Linear-ish by construction: every scan either consumes what it scanned or is bounded (a link
// destination by MAX_DESTINATION, a fence search by what is known to be unclosed), so no input of
// the server's 4,000 characters takes more than a few milliseconds.

import { externalLink, h } from "./dom.js";

/** Quotes and lists nested deeper than this stay literal text. */
const MAX_CONTAINER_DEPTH = 6;
/** Emphasis nested deeper than this keeps its text but loses the extra wrappers. */
const MAX_INLINE_DEPTH = 12;
/** A link destination longer than this is not one (no URL in a chat is), which bounds the scan. */
const MAX_DESTINATION = 2048;
/** The server's usernames: 3–32 of [a-z0-9_.-] (users/username.rs); the same rule finds mentions. */
const NAME_CHAR = /[A-Za-z0-9_.-]/;
const WORD_CHAR = /[A-Za-z0-9_]/;
const ASCII_PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const WHITESPACE = /\s/u;
const PUNCTUATION = /[\p{P}\p{S}]/u;

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)\s*$/;
const QUOTE = /^ {0,3}>/;
const QUOTE_MARKER = /^ {0,3}> ?/;
const BULLET = /^( {0,3})([-*+])( {1,4})(?=\S)/;
const NUMBERED = /^( {0,3})(\d{1,9})([.)])( {1,4})(?=\S)/;
const LANGUAGE = /^[\w+#.-]{1,32}$/;

/** The text as a tree (see the top of this file). Never throws; anything it does not recognise is text. */
export function parse(text) {
  const lines = String(text ?? "").split(/\r\n|\r|\n/);
  return { type: "root", children: blocks(lines, 0) };
}

// ---------------------------------------------------------------------------------------------
// Blocks: fenced code, quotes, lists and paragraphs. A chat has no headings, rules or tables:
// `#`, `---` and `|` stay text. A paragraph keeps its line breaks (chat text is written that way).

function blocks(lines, depth) {
  const out = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) out.push({ type: "paragraph", children: inline(paragraph.join("\n")) });
    paragraph = [];
  };
  // The shortest fence of each kind known to have no closer below: longer ones need not look.
  const unclosed = { "`": Infinity, "~": Infinity };
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    if (!line.trim()) { flush(); i++; continue; }
    const fence = FENCE.exec(line);
    if (fence && fence[1].length < unclosed[fence[1][0]]) {
      const end = closingFence(lines, i + 1, fence[1]);
      if (end === -1) unclosed[fence[1][0]] = fence[1].length;
      else {
        flush();
        out.push({ type: "codeblock", lang: LANGUAGE.test(fence[2]) ? fence[2] : "", text: lines.slice(i + 1, end).join("\n") });
        i = end + 1;
        continue;
      }
    }
    if (depth < MAX_CONTAINER_DEPTH && QUOTE.test(line)) {
      flush();
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) inner.push(lines[i++].replace(QUOTE_MARKER, ""));
      out.push({ type: "quote", children: blocks(inner, depth + 1) });
      continue;
    }
    const marker = depth < MAX_CONTAINER_DEPTH ? listMarker(line) : null;
    if (marker) {
      flush();
      i = list(lines, i, marker, depth, out);
      continue;
    }
    paragraph.push(line);
    i++;
  }
  flush();
  return out;
}

/** The line that closes `fence` (the same character, at least as many, nothing else), or -1. */
function closingFence(lines, from, fence) {
  for (let i = from; i < lines.length; i++) {
    const m = /^ {0,3}(`{3,}|~{3,})\s*$/.exec(lines[i]);
    if (m && m[1][0] === fence[0] && m[1].length >= fence.length) return i;
  }
  return -1;
}

function listMarker(line) {
  const bullet = BULLET.exec(line);
  if (bullet) return { ordered: false, indent: bullet[1].length, content: bullet[0].length, number: 1 };
  const numbered = NUMBERED.exec(line);
  if (numbered) return { ordered: true, indent: numbered[1].length, content: numbered[0].length, number: Number(numbered[2]) };
  return null;
}

const indentOf = (line) => line.length - line.trimStart().length;

/** A list from line `i`: items of one kind (bulleted or numbered); lines indented past an item's
 * marker belong to it (a nested list, a second line). A blank line or an unindented line ends it. */
function list(lines, i, first, depth, out) {
  const node = { type: "list", ordered: first.ordered, start: first.number, children: [] };
  let marker = first;
  for (;;) {
    const content = [lines[i].slice(marker.content)];
    i++;
    while (i < lines.length && lines[i].trim() && indentOf(lines[i]) > marker.indent) {
      content.push(lines[i].slice(Math.min(indentOf(lines[i]), marker.content)));
      i++;
    }
    node.children.push({ type: "item", children: blocks(content, depth + 1) });
    const next = i < lines.length ? listMarker(lines[i]) : null;
    if (!next || next.ordered !== first.ordered) break;
    marker = next;
  }
  out.push(node);
  return i;
}

// ---------------------------------------------------------------------------------------------
// Inlines. First a flat list of tokens (text, code spans, links, mentions, delimiter runs of
// * _ ~~ ||, brackets); then emphasis is matched with CommonMark's delimiter algorithm (with its
// `openers_bottom`, which keeps it linear); then the tokens are folded into a tree.
// Delimiters inside a word (`2*3*4`, `snake_case`) are never emphasis.

function inline(source) {
  const tokens = [];
  let delimiters = null; // the top of a doubly linked stack of delimiter runs
  const brackets = []; // open "[" tokens: {index, delimiters (the stack top when it opened)}
  let linksBefore = -1; // brackets before this token index may no longer make links (no links in links)
  const ticks = backtickRuns(source);
  const n = source.length;
  let text = "";
  let i = 0;

  const flushText = () => {
    if (text) tokens.push({ t: "text", text });
    text = "";
  };
  const pushDelimiter = (ch, count, canOpen, canClose) => {
    flushText();
    const token = { t: "delim", ch, count, remaining: count, opens: [], closes: [] };
    tokens.push(token);
    const d = { token, ch, count, canOpen, canClose, previous: delimiters, next: null };
    if (delimiters) delimiters.next = d;
    delimiters = d;
  };
  const remove = (d) => {
    if (d.previous) d.previous.next = d.next;
    if (d.next) d.next.previous = d.previous;
    else delimiters = d.previous;
  };

  /** CommonMark's "process emphasis" over the delimiters above `bottom`, which are then dropped. */
  const processEmphasis = (bottom) => {
    const openersBottom = new Map();
    let closer = delimiters;
    while (closer && closer.previous !== bottom) closer = closer.previous;
    while (closer) {
      if (!closer.canClose) { closer = closer.next; continue; }
      const key = `${closer.ch}${closer.canOpen ? 1 : 0}${closer.count % 3}`;
      const stop = openersBottom.has(key) ? openersBottom.get(key) : bottom;
      let opener = closer.previous;
      let found = false;
      while (opener && opener !== bottom && opener !== stop) {
        const oddMatch = (closer.canOpen || opener.canClose) && closer.count % 3 !== 0 && (opener.count + closer.count) % 3 === 0;
        if (opener.ch === closer.ch && opener.canOpen && !oddMatch) { found = true; break; }
        opener = opener.previous;
      }
      if (!found) {
        openersBottom.set(key, closer.previous);
        const next = closer.next;
        if (!closer.canOpen) remove(closer);
        closer = next;
        continue;
      }
      const paired = closer.ch === "~" || closer.ch === "|";
      const use = paired || (opener.token.remaining >= 2 && closer.token.remaining >= 2) ? 2 : 1;
      const kind = closer.ch === "~" ? "strike" : closer.ch === "|" ? "spoiler" : use === 2 ? "bold" : "italic";
      opener.token.remaining -= use;
      closer.token.remaining -= use;
      opener.token.opens.push(kind);
      closer.token.closes.push(kind);
      // Whatever lay between them can no longer pair across this one.
      opener.next = closer;
      closer.previous = opener;
      if (opener.token.remaining === 0) remove(opener);
      if (closer.token.remaining === 0) {
        const next = closer.next;
        remove(closer);
        closer = next;
      }
    }
    while (delimiters && delimiters !== bottom) remove(delimiters);
  };

  while (i < n) {
    const c = source[i];
    if (c === "\\" && i + 1 < n && ASCII_PUNCT.includes(source[i + 1])) {
      text += source[i + 1];
      i += 2;
    } else if (c === "`") {
      let run = 1;
      while (source[i + run] === "`") run++;
      const close = ticks.next(run, i + run);
      if (close === -1) { text += "`".repeat(run); i += run; continue; }
      flushText();
      let code = source.slice(i + run, close).replace(/\n/g, " ");
      if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
      tokens.push({ t: "code", text: code });
      i = close + run;
    } else if (c === "*" || c === "_" || c === "~" || c === "|") {
      let run = 1;
      while (source[i + run] === c) run++;
      const before = charBefore(source, i);
      const after = charAfter(source, i + run);
      // ~~strike~~ and ||spoiler|| take exactly two; a single ~ ("~5 min") or | is just text.
      if ((c === "~" || c === "|") && run !== 2) { text += c.repeat(run); i += run; continue; }
      const left = !isSpace(after) && (!isPunct(after) || isSpace(before) || isPunct(before));
      const right = !isSpace(before) && (!isPunct(before) || isSpace(after) || isPunct(after));
      const canOpen = left && (!right || isPunct(before));
      const canClose = right && (!left || isPunct(after));
      if (canOpen || canClose) pushDelimiter(c, run, canOpen, canClose);
      else text += c.repeat(run);
      i += run;
    } else if (c === "[") {
      flushText();
      brackets.push({ index: tokens.length, delimiters });
      tokens.push({ t: "text", text: "[" });
      i++;
    } else if (c === "]") {
      const opener = brackets.pop();
      const link = opener && opener.index > linksBefore ? destination(source, i + 1) : null;
      if (!link) { text += "]"; i++; continue; }
      flushText();
      processEmphasis(opener.delimiters);
      tokens[opener.index] = { t: "link-open", href: link.href, fallback: link.raw };
      tokens.push({ t: "link-close" });
      linksBefore = opener.index;
      i = link.end;
    } else if (c === "<") {
      const auto = angleLink(source, i);
      if (!auto) { text += c; i++; continue; }
      flushText();
      tokens.push({ t: "link-open", href: auto.href, fallback: auto.raw }, { t: "text", text: auto.raw }, { t: "link-close" });
      i = auto.end;
    } else if ((c === "h" || c === "H") && !WORD_CHAR.test(source[i - 1] || " ") && /^https?:\/\//i.test(source.slice(i, i + 8))) {
      let end = i;
      const stopAtBracket = brackets.length > 0; // `[https://a](https://b)`: the label ends at "]"
      while (end < n && !/[\s<>"']/.test(source[end]) && !(stopAtBracket && source[end] === "]")) end++;
      const url = trimLink(source.slice(i, end));
      const href = safeHref(url, ["http:", "https:"]);
      flushText();
      if (href) tokens.push({ t: "link-open", href, fallback: url }, { t: "text", text: url }, { t: "link-close" });
      else tokens.push({ t: "text", text: url });
      i += url.length;
    } else if (c === "@" && !NAME_CHAR.test(source[i - 1] || " ")) {
      let end = i + 1;
      while (end < n && NAME_CHAR.test(source[end])) end++;
      let name = source.slice(i + 1, end);
      while (name.endsWith(".")) name = name.slice(0, -1); // a trailing dot ends a sentence, not a name
      if (name.length < 3 || name.length > 32) { text += c; i++; continue; }
      flushText();
      tokens.push({ t: "mention", username: name.toLowerCase(), text: `@${name}` });
      i += 1 + name.length;
    } else {
      // Plain text up to the next character that may mean something.
      let end = i + 1;
      while (end < n && !"\\`*_~|[]<hH@".includes(source[end])) end++;
      text += source.slice(i, end);
      i = end;
    }
  }
  flushText();
  processEmphasis(null);
  return fold(tokens);
}

/** Where each run of backticks of a given length starts; `next(len, from)` finds the first run of
 * exactly `len` at or after `from`. Calls come with growing `from`, so each cursor only advances. */
function backtickRuns(source) {
  const runs = new Map();
  for (let i = source.indexOf("`"); i !== -1; i = source.indexOf("`", i)) {
    let run = 1;
    while (source[i + run] === "`") run++;
    if (!runs.has(run)) runs.set(run, { at: [], cursor: 0 });
    runs.get(run).at.push(i);
    i += run;
  }
  return {
    next(len, from) {
      const r = runs.get(len);
      if (!r) return -1;
      while (r.cursor < r.at.length && r.at[r.cursor] < from) r.cursor++;
      return r.cursor < r.at.length ? r.at[r.cursor] : -1;
    },
  };
}

/** `(url)` right after a "]": http, https or mailto only; anything else leaves the brackets as text. */
function destination(source, at) {
  if (source[at] !== "(") return null;
  let i = at + 1;
  while (source[i] === " ") i++;
  let raw = "";
  let depth = 0;
  const limit = Math.min(source.length, i + MAX_DESTINATION);
  for (; i < limit; i++) {
    const c = source[i];
    if (c === "\\" && ASCII_PUNCT.includes(source[i + 1] || "")) { raw += source[++i]; continue; }
    if (WHITESPACE.test(c)) break;
    if (c === "(") {
      // CommonMark's own bound (32 levels) keeps `[](` repeated from scanning to the end each time.
      if (++depth > 32) return null;
    } else if (c === ")") {
      if (depth === 0) break;
      depth--;
    }
    raw += c;
  }
  while (source[i] === " ") i++;
  if (source[i] !== ")" || !raw) return null;
  const href = safeHref(raw, ["http:", "https:", "mailto:"]);
  return href ? { href, raw, end: i + 1 } : null;
}

/** `<https://…>` or `<mailto:…>`. */
function angleLink(source, at) {
  const m = /^<((?:https?|mailto):[^\s<>]+)>/i.exec(source.slice(at, at + MAX_DESTINATION));
  if (!m) return null;
  const href = safeHref(m[1], ["http:", "https:", "mailto:"]);
  return href ? { href, raw: m[1], end: at + m[0].length } : null;
}

/** What a sentence adds after a bare URL: punctuation, and a ")" without its "(" in the URL
 * (parentheses counted once, so that a URL ending in 4,000 ")" stays linear), and the
 * markers of formatting around it (`**https://x**`, `||https://x||`). */
function trimLink(url) {
  let open = 0;
  let close = 0;
  for (const c of url) {
    if (c === "(") open++;
    else if (c === ")") close++;
  }
  let end = url.length;
  for (;;) {
    const last = url[end - 1];
    if (".,;:!?'\"*~|".includes(last)) end--;
    else if (last === ")" && close > open) { end--; close--; }
    else return url.slice(0, end);
  }
}

/** The URL's normalised form if it parses and its scheme is one of `schemes`, else null. */
function safeHref(url, schemes) {
  try {
    const parsed = new URL(url);
    if (!schemes.includes(parsed.protocol)) return null;
    if (parsed.protocol === "mailto:" && !/^[^@\s]+@[^@\s]+$/.test(decodeURIComponent(parsed.pathname))) return null;
    return parsed.href;
  } catch {
    return null;
  }
}

function charBefore(s, i) {
  if (i === 0) return "";
  const low = s.charCodeAt(i - 1);
  return low >= 0xdc00 && low <= 0xdfff && i >= 2 ? String.fromCodePoint(s.codePointAt(i - 2)) : s[i - 1];
}

function charAfter(s, i) {
  return i >= s.length ? "" : String.fromCodePoint(s.codePointAt(i));
}

const isSpace = (c) => c === "" || WHITESPACE.test(c);
const isPunct = (c) => c !== "" && PUNCTUATION.test(c);

/** Tokens to inline nodes: delimiter runs open and close containers (their unmatched characters
 * stay text), links collapse their contents to text. */
function fold(tokens) {
  const root = { children: [] };
  const stack = [{ node: root, kind: "root" }];
  const top = () => stack[stack.length - 1];
  const add = (node) => {
    const children = top().node.children;
    const last = children[children.length - 1];
    if (node.type === "text" && last?.type === "text") last.text += node.text;
    else if (node.type !== "text" || node.text) children.push(node);
  };
  const open = (kind) => {
    // Past the depth limit a container shares its parent's children: the text stays, the wrapper goes.
    if (stack.length > MAX_INLINE_DEPTH) { stack.push({ node: top().node, kind, phantom: true }); return; }
    const node = { type: kind, children: [] };
    add(node);
    stack.push({ node, kind });
  };
  const close = () => stack.length > 1 && stack.pop();
  for (const token of tokens) {
    switch (token.t) {
      case "text": add({ type: "text", text: token.text }); break;
      case "code": add({ type: "code", text: token.text }); break;
      case "mention": add({ type: "mention", username: token.username, text: token.text }); break;
      case "link-open": {
        const node = { type: "link", href: token.href, fallback: token.fallback, children: [] };
        stack.push({ node, kind: "link" });
        break;
      }
      case "link-close": {
        while (top().kind !== "link") close();
        const { node } = stack.pop();
        add({ type: "link", href: node.href, text: inlineText(node.children) || node.fallback });
        break;
      }
      case "delim":
        for (let k = 0; k < token.closes.length; k++) close();
        if (token.remaining) add({ type: "text", text: token.ch.repeat(token.remaining) });
        for (let k = token.opens.length - 1; k >= 0; k--) open(token.opens[k]);
        break;
    }
  }
  return root.children;
}

// ---------------------------------------------------------------------------------------------
// Plain text, for sidebar previews and notifications. Spoilers stay hidden there too.

/** The text without its markup: emphasis markers, code fences and link syntax gone, a spoiler
 * shown as "[spoiler]", list items on their own lines. */
export function plainText(text) {
  return blockText(parse(text).children);
}

function blockText(list) {
  return list.map((block) => {
    switch (block.type) {
      case "paragraph": return inlineText(block.children);
      case "codeblock": return block.text;
      case "quote": return blockText(block.children);
      case "list": return block.children.map((item, k) => `${block.ordered ? `${block.start + k}.` : "•"} ${blockText(item.children)}`).join("\n");
      default: return "";
    }
  }).join("\n");
}

function inlineText(list) {
  let out = "";
  for (const node of list) {
    if (node.type === "spoiler") out += "[spoiler]";
    else if (node.children) out += inlineText(node.children);
    else out += node.text;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// DOM: every node made with h(), every string a text node.

/**
 * A message body as DOM nodes (block elements: put them in a `div`). `mentions` are the
 * usernames the server found mentioned (only they are highlighted); `me` is the reader's own
 * username, whose mentions stand out.
 */
export function renderBody(text, { mentions = [], me = null } = {}) {
  const names = new Set([...mentions].map((m) => String(m).toLowerCase()));
  const self = me ? String(me).toLowerCase() : null;
  return parse(text).children.map((block) => renderBlock(block, { names, self }));
}

function renderBlock(block, ctx) {
  switch (block.type) {
    case "paragraph": return h("p.md-p", { dir: "auto" }, renderInlines(block.children, ctx));
    case "codeblock": return h("pre.md-pre", { dir: "auto", "data-lang": block.lang || null }, h("code", block.text));
    case "quote": return h("blockquote.md-quote", block.children.map((b) => renderBlock(b, ctx)));
    case "list": return h(block.ordered ? "ol.md-list" : "ul.md-list", { start: block.ordered && block.start !== 1 ? block.start : null },
      block.children.map((item) => h("li", { dir: "auto" },
        // A one-line item is its text (a tight list); longer ones keep their blocks.
        item.children.length === 1 && item.children[0].type === "paragraph"
          ? renderInlines(item.children[0].children, ctx)
          : item.children.map((b) => renderBlock(b, ctx)))));
    default: return h("p.md-p", "");
  }
}

function renderInlines(list, ctx) {
  return list.map((node) => {
    switch (node.type) {
      case "text": return node.text;
      case "code": return h("code.md-code", node.text);
      case "bold": return h("strong", renderInlines(node.children, ctx));
      case "italic": return h("em", renderInlines(node.children, ctx));
      case "strike": return h("s", renderInlines(node.children, ctx));
      case "spoiler": return spoiler(renderInlines(node.children, ctx));
      case "link": return externalLink(node.href, node.text);
      case "mention":
        if (!ctx.names.has(node.username)) return node.text;
        return h(`span.md-mention${node.username === ctx.self ? ".md-mention-me" : ""}`, node.text);
      default: return "";
    }
  });
}

/** Hidden until clicked or activated from the keyboard (Enter, Space). While hidden the content
 * is inert — not read out, not focusable, its links not clickable — and the control says what it is. */
function spoiler(children) {
  const content = h("span.md-spoiler-content", { inert: true }, children);
  const el = h("span.md-spoiler", { role: "button", tabindex: "0", "aria-label": "Spoiler, hidden: press to reveal", title: "Reveal spoiler" }, content);
  const reveal = (e) => {
    if (el.classList.contains("revealed")) return;
    e.preventDefault();
    e.stopPropagation();
    el.classList.add("revealed");
    content.inert = false;
    for (const name of ["role", "aria-label", "title"]) el.removeAttribute(name);
    el.tabIndex = -1; // focus stays where it was, on the text now shown
  };
  el.addEventListener("click", reveal);
  el.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") reveal(e); });
  return el;
}
