// Building the page safely: every piece of user content goes in as text (textContent), never
// as markup. `h` is the only way views create elements.

/** h("div.class#id", {attrs, on: {click}}, ...children) — strings become text nodes. */
export function h(tag, props, ...children) {
  // Props are optional: a second argument that is not a plain object is a child.
  if (props === undefined || props === null || typeof props !== "object" || props instanceof Node || Array.isArray(props)) {
    if (props !== undefined) children.unshift(props);
    props = {};
  }
  const [name, ...rest] = tag.split(/(?=[.#])/);
  const el = document.createElement(name || "div");
  for (const part of rest) {
    if (part.startsWith(".")) el.classList.add(part.slice(1));
    else if (part.startsWith("#")) el.id = part.slice(1);
  }
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") for (const [event, fn] of Object.entries(value)) el.addEventListener(event, fn);
    else if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "value") el.value = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A name someone chose (display name, group name): isolated so that bidi controls in it
 * (U+202E and friends) cannot reorder the text around it. */
export function name(text) {
  return h("bdi", text);
}

/** The badge beside a bot's name: visible "BOT", read as ", bot" after the name. */
export function botBadge(user) {
  return user?.bot ? h("span.bot-badge", { title: "This account is a bot" }, h("span", { "aria-hidden": "true" }, "BOT"), h("span.visually-hidden", ", bot")) : null;
}

/** A link out of Confab: every way of following it (click, middle-click, ctrl/shift-click, Enter)
 * goes through the leaving-site warning first. */
export function externalLink(href, text) {
  const follow = (e) => {
    if (e.type === "auxclick" && e.button !== 1) return;
    e.preventDefault();
    confirmLeave(href);
  };
  return h("a", { href, rel: "noopener noreferrer", on: { click: follow, auxclick: follow } }, text);
}

export async function confirmLeave(url) {
  let host = url;
  try { const parsed = new URL(url); host = parsed.protocol === "mailto:" ? "your e-mail program" : parsed.host; } catch { return; }
  if (await modal("You are leaving Confab", `This link opens ${host}: ${url}`, "Open")) window.open(url, "_blank", "noopener,noreferrer");
}

export function timeOf(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

const FOCUSABLE = "button:not([disabled]), [href], input:not([disabled]), textarea:not([disabled]), select, [tabindex]:not([tabindex='-1'])";

/**
 * The one modal dialog: a title, a scrolling body and a row of actions that stays in view.
 * Escape closes it, Tab stays inside it, and focus returns where it was when it closes.
 * `actions` are `{label, value, class?, close?}`: clicking one resolves `closed` with `value`
 * (unless `close === false`, for actions that do their own work). Returns `{overlay, close, closed}`.
 */
export function dialog({ title, body = [], actions = [{ label: "Close", value: null }], wide = false, focus = null, className = "" }) {
  const before = document.activeElement;
  let resolve;
  const closed = new Promise((r) => { resolve = r; });
  const close = (value = null) => {
    if (!overlay.isConnected) return;
    overlay.remove();
    if (before && before.isConnected && typeof before.focus === "function") before.focus();
    resolve(value);
  };
  const buttons = actions.map((a) => h(`button${a.class ? "." + a.class : ""}`, { type: "button", "data-action": a.label, on: { click: () => { if (a.onClick) a.onClick(); if (a.close !== false) close(a.value); } } }, a.label));
  const box = h(`div.modal${wide ? ".wide" : ""}${className ? "." + className : ""}`,
    h("h2", title), h("div.dialog-body", body), h("div.actions", buttons));
  const overlay = h("div.overlay", { role: "dialog", "aria-modal": "true", "aria-label": typeof title === "string" ? title : title.textContent }, box);
  overlay.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(null); return; }
    if (e.key !== "Tab") return;
    const items = [...overlay.querySelectorAll(FOCUSABLE)].filter((el) => el.offsetParent !== null);
    if (!items.length) return e.preventDefault();
    const first = items[0], lastItem = items.at(-1);
    if (e.shiftKey && (document.activeElement === first || !overlay.contains(document.activeElement))) { e.preventDefault(); lastItem.focus(); }
    else if (!e.shiftKey && (document.activeElement === lastItem || !overlay.contains(document.activeElement))) { e.preventDefault(); first.focus(); }
  });
  // A click on the backdrop does not close: a stray click must not lose what was typed.
  document.body.append(overlay);
  const target = focus || buttons.at(-1) || box;
  if (target === box) box.tabIndex = -1;
  target.focus();
  return { overlay, close, closed };
}

/** A confirmation; resolves true on confirm. Never uses window.confirm (no browser dialogs). */
export function modal(title, body, confirmLabel = "OK", { danger = false } = {}) {
  const box = dialog({
    title,
    body: [h("p", body)],
    actions: [{ label: "Cancel", value: false, class: "secondary" }, { label: confirmLabel, value: true, class: danger ? "danger" : undefined }],
  });
  // Something that cannot be undone: Enter on the first focus must not do it.
  if (danger) box.overlay.querySelector("[data-action=Cancel]").focus();
  return box.closed.then((v) => v === true);
}

/** Says `text` to screen readers (the polite live region of index.html) without moving focus. */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (!region) return;
  region.textContent = "";
  // A fresh node after a tick: the same words twice are still announced.
  setTimeout(() => { region.textContent = text; }, 50);
}

/** Initials of a name ("Ada Lovelace" → "AL"), by whole characters so emoji and accents survive. */
export function initials(text) {
  const words = String(text || "?").trim().split(/\s+/).filter(Boolean);
  const first = (w) => Array.from(w)[0] || "";
  return ((words.length > 1 ? first(words[0]) + first(words.at(-1)) : Array.from(words[0] || "?").slice(0, 2).join("")) || "?").toUpperCase();
}

/** A URL the server gave for a file or picture, if it is one to use: http(s), absolute or
 * relative to this page (attachments and avatars are relative unless `media.public_origin` is
 * set). Anything else — `javascript:`, `data:`, nonsense — is null. */
export function mediaUrl(url) {
  if (typeof url !== "string" || !url) return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

/** A round avatar: the picture at `url` when there is one, over initials on a tone picked from
 * `key` (an id) so a person keeps their colour — what shows while the picture loads, or if it
 * cannot. Decorative, since the name is always written next to it. */
export function avatar(text, key = text, { presence = null, size = "", url = null } = {}) {
  let hash = 0;
  for (const ch of String(key)) hash = (hash * 31 + ch.codePointAt(0)) >>> 0;
  const src = mediaUrl(url);
  const picture = src ? h("img.avatar-picture", { src, alt: "", loading: "lazy", decoding: "async", referrerpolicy: "no-referrer" }) : null;
  const el = h(`span.avatar${size ? "." + size : ""}`, { "aria-hidden": "true", "data-tone": String(hash % 8) },
    initials(text),
    picture,
    presence ? h("span.presence", { "data-presence": presence }) : null);
  if (picture) {
    // Drawn again (lists are redrawn whole): a picture the browser holds shows at once.
    if (picture.complete && picture.naturalWidth) el.classList.add("has-picture");
    picture.addEventListener("load", () => el.classList.add("has-picture"));
    picture.addEventListener("error", () => picture.remove());
  }
  return el;
}

/** A user's avatar (`user` as the server sends it: display name, id, picture). */
export function userAvatar(user, options = {}) {
  return avatar(user?.display_name, user?.id, { url: user?.avatar_url, ...options });
}
