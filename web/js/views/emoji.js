// Placeholder: replaced by the formatting helper's module at merge.
// A small emoji picker: a dialog of common emojis; resolves with the one chosen, or null.

import { dialog, h } from "../dom.js";

const COMMON = ["👍", "👎", "❤️", "😂", "😊", "😍", "🤔", "😮", "😢", "😡", "🎉", "🙏", "👏", "🔥", "✅", "❌",
  "👀", "💯", "🚀", "🏓", "🎮", "☕", "🍕", "🎂", "😎", "🙌", "🤝", "💪", "😅", "🥳", "😴", "🤯",
  "🙈", "✨", "⭐", "💡", "📌", "⚡", "🌈", "👋"];

/** Opens the picker near `opener` (focus returns there); a Promise of an emoji string or null. */
export function pickEmoji(opener) {
  void opener;
  let box = null;
  const grid = h("div.emoji-choices", { role: "group", "aria-label": "Emojis" },
    COMMON.map((e) => h("button.emoji-choice", { type: "button", "aria-label": e, on: { click: () => box.close(e) } }, e)));
  box = dialog({ title: "Pick a reaction", body: [grid], actions: [{ label: "Cancel", value: null, class: "secondary" }] });
  grid.firstChild.focus();
  return box.closed;
}
