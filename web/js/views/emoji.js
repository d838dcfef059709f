// The emoji picker: a dialog with search by name and keyword, categories, recently used emoji
// (kept in localStore), skin tones, and a grid driven by the arrow keys. The data
// (js/emoji-data.js, ~100 KB) loads the first time the picker opens.

import { clear, dialog, h, modal } from "../dom.js";
import { localStore } from "../storage.js";

const RECENT_KEY = "confab.emoji.recent";
const TONE_KEY = "confab.emoji.tone";
const MAX_RECENT = 24;
const MAX_RESULTS = 160;
/** Cells per row: the grid's rows are real rows (role=row), so Up and Down move by this much. */
const COLUMNS = 8;
const TONES = [
  { label: "Default", modifier: "" },
  { label: "Light", modifier: "\u{1F3FB}" },
  { label: "Medium-light", modifier: "\u{1F3FC}" },
  { label: "Medium", modifier: "\u{1F3FD}" },
  { label: "Medium-dark", modifier: "\u{1F3FE}" },
  { label: "Dark", modifier: "\u{1F3FF}" },
];

/** What each category's tab shows (its first emoji otherwise, which for some is an odd choice: 🏧). */
const GROUP_ICONS = {
  "Smileys & emotion": "😀", "People & body": "👋", "Animals & nature": "🐻", "Food & drink": "🍔",
  "Travel & places": "✈️", "Activities": "⚽", "Objects": "💡", "Symbols": "🔣", "Flags": "🏁",
};

let data = null;

/** The groups, and an index from each emoji to its entry (for the names of recent ones). */
async function load() {
  if (!data) {
    const { GROUPS } = await import("../emoji-data.js");
    const byEmoji = new Map();
    const groups = GROUPS.map((g) => ({
      name: g.name,
      emoji: g.emoji.map(([emoji, name, keywords = "", tones = 0]) => {
        const entry = { emoji, name, words: `${name} ${keywords}`.toLowerCase().split(/\s+/), tones: tones === 1 };
        byEmoji.set(emoji, entry);
        return entry;
      }),
    }));
    data = { groups, byEmoji };
  }
  return data;
}

/** A skin tone applied the way the data was checked against (web/tools/emoji-data.mjs). */
export function withTone(emoji, modifier) {
  if (!modifier) return emoji;
  const [first, ...rest] = [...emoji];
  return first + modifier + rest.join("").replace(/^\uFE0F/, "");
}

/** The emoji used most recently, newest first. */
export function recentEmoji() {
  try {
    const list = JSON.parse(localStore.getItem(RECENT_KEY) || "[]");
    return Array.isArray(list) ? list.filter((e) => typeof e === "string" && e.length <= 32).slice(0, MAX_RECENT) : [];
  } catch {
    return [];
  }
}

function remember(emoji) {
  localStore.setItem(RECENT_KEY, JSON.stringify([emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, MAX_RECENT)));
}

/** Entries whose name or keywords start with every word typed ("thumb up" finds 👍), names first. */
function search(groups, query) {
  const terms = query.toLowerCase().replace(/:/g, " ").split(/\s+/).filter(Boolean);
  if (!terms.length) return [];
  const byName = [];
  const byKeyword = [];
  for (const group of groups) {
    for (const entry of group.emoji) {
      if (!terms.every((t) => entry.words.some((w) => w.startsWith(t)))) continue;
      (entry.name.toLowerCase().startsWith(terms[0]) ? byName : byKeyword).push(entry);
    }
  }
  return [...byName, ...byKeyword].slice(0, MAX_RESULTS);
}

/**
 * Opens the picker; resolves with the chosen emoji (with the chosen skin tone), or null when it
 * is closed without a choice. Focus returns to `opener` (or wherever it was).
 */
export async function pickEmoji(opener = null) {
  let loaded;
  try {
    loaded = await load();
  } catch {
    await modal("Emoji", "The emoji could not be loaded. Check the connection and try again.");
    return null;
  }
  const { groups, byEmoji } = loaded;
  let tone = TONES.find((t) => t.modifier === localStore.getItem(TONE_KEY)) || TONES[0];
  const recents = recentEmoji();
  // The tab shown: -1 is "Recently used".
  let tab = recents.length ? -1 : 0;
  let active = 0; // the grid cell that holds the roving tabindex

  const query = h("input.emoji-search", { type: "search", placeholder: "Search emoji", "aria-label": "Search emoji", autocomplete: "off" });
  const tabs = h("div.emoji-tabs", { role: "tablist", "aria-label": "Categories" });
  const grid = h("div.emoji-grid", { role: "grid", "aria-label": "Emoji" });
  const status = h("p.emoji-status", { role: "status" });
  const preview = h("p.emoji-preview", { "aria-hidden": "true" });
  const toneSelect = h("select.emoji-tone", { "aria-label": "Skin tone", on: { change: () => {
    tone = TONES[Number(toneSelect.value)];
    localStore.setItem(TONE_KEY, tone.modifier);
    render();
  } } }, TONES.map((t, k) => h("option", { value: String(k), selected: t === tone }, `${withTone("✋", t.modifier)} ${t.label}`)));

  const box = dialog({
    title: "Pick an emoji",
    className: "emoji-picker",
    body: [h("div.emoji-top", query, toneSelect), tabs, grid, h("div.emoji-foot", preview, status)],
    actions: [{ label: "Close", value: null, class: "secondary" }],
    focus: query,
  });
  const pick = (emoji) => {
    remember(emoji);
    box.close(emoji);
  };

  function shown() {
    if (query.value.trim()) return search(groups, query.value);
    if (tab === -1) return recents.map((e) => ({ emoji: e, name: nameOf(byEmoji, e), tones: false }));
    return groups[tab].emoji;
  }

  function renderTabs() {
    const items = [...(recents.length ? [{ index: -1, icon: "🕘", name: "Recently used" }] : []),
      ...groups.map((g, index) => ({ index, icon: GROUP_ICONS[g.name] || g.emoji[0].emoji, name: g.name }))];
    const searching = Boolean(query.value.trim());
    clear(tabs, items.map((t) => h("button.emoji-tab", {
      type: "button", role: "tab", "aria-label": t.name, title: t.name,
      "aria-selected": String(!searching && t.index === tab), tabindex: t.index === tab ? "0" : "-1",
      dataset: { index: t.index },
      on: { click: () => { tab = t.index; query.value = ""; active = 0; render(); } },
    }, t.icon)));
  }

  function render() {
    renderTabs();
    const list = shown();
    const rows = [];
    for (let r = 0; r * COLUMNS < list.length; r++) {
      rows.push(h("div.emoji-row", { role: "row" }, list.slice(r * COLUMNS, (r + 1) * COLUMNS).map((entry, c) => {
        const emoji = entry.tones ? withTone(entry.emoji, tone.modifier) : entry.emoji;
        const index = r * COLUMNS + c;
        return h("span", { role: "gridcell" }, h("button.emoji-cell", {
          type: "button", "aria-label": entry.name, title: entry.name, tabindex: index === active ? "0" : "-1",
          dataset: { index, emoji },
          on: { click: () => pick(emoji), focus: () => { active = index; showPreview(emoji, entry.name); }, mouseenter: () => showPreview(emoji, entry.name) },
        }, emoji));
      })));
    }
    clear(grid, rows);
    const searching = query.value.trim();
    status.textContent = searching ? (list.length ? `${list.length} emoji found` : "No emoji found") : "";
    grid.setAttribute("aria-label", searching ? "Search results" : tab === -1 ? "Recently used" : groups[tab].name);
    preview.textContent = "";
  }

  function showPreview(emoji, name) {
    preview.textContent = `${emoji} ${name}`;
  }

  const cells = () => [...grid.querySelectorAll(".emoji-cell")];
  function focusCell(index) {
    const all = cells();
    if (!all.length) return;
    active = Math.max(0, Math.min(all.length - 1, index));
    all.forEach((cell, k) => { cell.tabIndex = k === active ? 0 : -1; });
    all[active].focus();
  }

  query.addEventListener("input", () => { active = 0; render(); });
  query.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); focusCell(0); }
    // Enter takes the first match: typing "thumbs" and Enter gives 👍.
    if (e.key === "Enter") { e.preventDefault(); const first = cells()[0]; if (first) pick(first.dataset.emoji); }
  });
  grid.addEventListener("keydown", (e) => {
    const index = Number(e.target.dataset?.index);
    if (Number.isNaN(index)) return;
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (e.key in moves) {
      e.preventDefault();
      // Up from the first row goes back to the search field.
      if (e.key === "ArrowUp" && index < COLUMNS) return query.focus();
      focusCell(index + moves[e.key]);
    } else if (e.key === "Home") { e.preventDefault(); focusCell(e.ctrlKey ? 0 : index - (index % COLUMNS)); }
    else if (e.key === "End") { e.preventDefault(); focusCell(e.ctrlKey ? Infinity : index - (index % COLUMNS) + COLUMNS - 1); }
  });
  tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    e.preventDefault();
    const all = [...tabs.querySelectorAll(".emoji-tab")];
    const at = all.indexOf(document.activeElement);
    const next = all[(at + (e.key === "ArrowRight" ? 1 : -1) + all.length) % all.length];
    next.click();
    tabs.querySelector(`[data-index="${next.dataset.index}"]`)?.focus();
  });

  render();
  const chosen = await box.closed;
  if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
  return chosen;
}

/** The name of a recent emoji, which may carry a skin tone (withTone undone). */
function nameOf(byEmoji, emoji) {
  const base = emoji.replace(/[\u{1F3FB}-\u{1F3FF}]/gu, "");
  const [first, ...rest] = [...base];
  const entry = byEmoji.get(emoji) || byEmoji.get(base) || byEmoji.get(`${first}\uFE0F${rest.join("")}`);
  return entry ? entry.name : emoji;
}
