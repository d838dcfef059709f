// A grid of choices for the sticker and GIF pickers (the emoji picker has its own, older one):
// real rows (role=row) of buttons, one tab stop (a roving tabindex), the arrow keys move, Home and
// End go to the row's ends (with Ctrl, the grid's), Up from the first row goes back to `before`
// (the search field).

import { clear, h } from "../dom.js";

/**
 * `columns` cells a row. Returns {element, show(items, cell), focus(index), cells(), reset()}:
 * `show` draws `items`, each through `cell(item, index)` → a button (given its tabindex here),
 * keeping the active cell where it was when it still exists; `reset` makes the first one active
 * (a new search, another tab).
 */
export function choiceGrid({ label, columns, className = "", before = null }) {
  let active = 0;
  const element = h(`div.choice-grid${className ? "." + className : ""}`, { role: "grid", "aria-label": label });
  const cells = () => [...element.querySelectorAll("[data-cell]")];

  function show(items, cell) {
    active = Math.min(active, Math.max(0, items.length - 1));
    const rows = [];
    for (let r = 0; r * columns < items.length; r++) {
      rows.push(h("div.choice-row", { role: "row" }, items.slice(r * columns, (r + 1) * columns).map((item, c) => {
        const index = r * columns + c;
        const button = cell(item, index);
        button.dataset.cell = String(index);
        button.tabIndex = index === active ? 0 : -1;
        button.addEventListener("focus", () => { active = index; });
        return h("span.choice-cell", { role: "gridcell" }, button);
      })));
    }
    clear(element, rows);
  }

  function focus(index) {
    const all = cells();
    if (!all.length) return;
    active = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((cell, k) => { cell.tabIndex = k === active ? 0 : -1; });
    all[active].focus();
  }

  element.addEventListener("keydown", (e) => {
    const index = Number(e.target.dataset?.cell);
    if (Number.isNaN(index)) return;
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: columns, ArrowUp: -columns };
    if (e.key in moves) {
      e.preventDefault();
      if (e.key === "ArrowUp" && index < columns && before) return before.focus();
      // Down from the last full row goes to the last cell rather than nowhere.
      focus(Math.min(index + moves[e.key], cells().length - 1));
    } else if (e.key === "Home") { e.preventDefault(); focus(e.ctrlKey ? 0 : index - (index % columns)); }
    else if (e.key === "End") { e.preventDefault(); focus(e.ctrlKey ? Infinity : index - (index % columns) + columns - 1); }
  });

  return { element, show, focus, cells, reset: () => { active = 0; } };
}
