// The message menu: a popup list of actions opened from a button, a right-click or a long press.
// Arrows move, Enter chooses, Escape or a click elsewhere closes it; focus returns to the opener
// before the chosen action runs (so a dialog it opens gives focus back there too).

import { h } from "../dom.js";

let open = null; // {menu, close}

export function closeMenu() {
  open?.close();
}

/** `items`: [{label, run, danger?, checked?, key?}] (`checked` makes it a checkbox item; `key`
 * is what typing jumps to it by, its label by default). `anchor` is where it appears and where
 * focus returns. */
export function openMenu(anchor, items, { label = "Message actions", onClose = null, className = "" } = {}) {
  closeMenu();
  const buttons = items.map((item) => h("button", {
    type: "button", tabindex: "-1", class: item.danger ? "danger" : null,
    role: item.checked === undefined ? "menuitem" : "menuitemcheckbox",
    "aria-checked": item.checked === undefined ? null : String(item.checked),
    on: { click: () => choose(item) },
  }, item.label));
  const menu = h(`div.menu${className ? "." + className : ""}`, { role: "menu", "aria-label": label }, buttons);
  const close = (refocus = true) => {
    if (!menu.isConnected) return;
    menu.remove();
    document.removeEventListener("pointerdown", outside, true);
    open = null;
    anchor.setAttribute?.("aria-expanded", "false");
    if (refocus && anchor.isConnected) anchor.focus();
    onClose?.();
  };
  const choose = (item) => { close(); item.run(); };
  const outside = (e) => { if (!menu.contains(e.target)) close(false); };
  menu.addEventListener("keydown", (e) => {
    const at = buttons.indexOf(document.activeElement);
    const move = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: buttons.length - 1 }[e.key];
    if (move !== undefined) { e.preventDefault(); buttons[(move + buttons.length) % buttons.length].focus(); }
    else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(); }
    else if (e.key === "Tab") { e.preventDefault(); close(); }
    else if (e.key.length === 1 && /\S/.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) {
      // Type-ahead, for long menus: the next item that starts with what was typed.
      const typed = e.key.toLowerCase();
      const keyOf = (k) => String(items[k].key ?? buttons[k].textContent).toLowerCase();
      for (let step = 1; step <= buttons.length; step++) {
        const k = (at + step + buttons.length) % buttons.length;
        if (keyOf(k).startsWith(typed)) { e.preventDefault(); buttons[k].focus(); break; }
      }
    }
  });
  document.body.append(menu);
  place(menu, anchor);
  anchor.setAttribute?.("aria-expanded", "true");
  document.addEventListener("pointerdown", outside, true);
  open = { menu, close };
  buttons[0]?.focus();
  return open;
}

/** Below the opener, right-aligned with it, kept inside the window; a sheet at the bottom on
 * narrow screens (the CSS does that part). */
function place(menu, anchor) {
  if (matchMedia("(max-width: 700px)").matches) { menu.classList.add("sheet"); return; }
  const r = anchor.getBoundingClientRect();
  const m = menu.getBoundingClientRect();
  const top = r.bottom + m.height + 8 > innerHeight ? Math.max(8, r.top - m.height - 4) : r.bottom + 4;
  const left = Math.min(Math.max(8, r.right - m.width), innerWidth - m.width - 8);
  menu.style.top = `${top}px`;
  menu.style.left = `${left}px`;
}
