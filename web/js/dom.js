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

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;

/** Message text with http(s) links made clickable (through the leaving-site warning). */
export function richText(text, onLink) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    const url = match[0].replace(/[.,;:!?)]+$/, "");
    if (match.index > last) parts.push(text.slice(last, match.index));
    let parsed = null;
    try { parsed = new URL(url); } catch { /* not a URL after all */ }
    if (parsed && (parsed.protocol === "https:" || parsed.protocol === "http:")) {
      parts.push(h("a", { href: parsed.href, rel: "noopener noreferrer", on: { click: (e) => { e.preventDefault(); onLink(parsed.href); } } }, url));
    } else {
      parts.push(url);
    }
    last = match.index + url.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

export function timeOf(iso) {
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** A small modal; resolves true on confirm. Never uses window.confirm (no browser dialogs). */
export function modal(title, body, confirmLabel = "OK") {
  return new Promise((resolve) => {
    const close = (answer) => { overlay.remove(); resolve(answer); };
    const overlay = h("div.overlay", { role: "dialog", "aria-modal": "true", "aria-label": title },
      h("div.modal",
        h("h2", title),
        h("p", body),
        h("div.actions",
          h("button.secondary", { type: "button", on: { click: () => close(false) } }, "Cancel"),
          h("button", { type: "button", "data-confirm": "1", on: { click: () => close(true) } }, confirmLabel))));
    overlay.addEventListener("keydown", (e) => { if (e.key === "Escape") close(false); });
    document.body.append(overlay);
    overlay.querySelector("[data-confirm]").focus();
  });
}
