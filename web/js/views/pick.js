// Dialogs to pick other users by name: one (a new chat, a contact) or several (group members).

import { botBadge, clear, dialog, h, name, userAvatar } from "../dom.js";

async function search(ctx, q) {
  const found = await ctx.api.get(`/api/v1/users?q=${encodeURIComponent(q)}&limit=10`);
  found.users.forEach((u) => ctx.state.rememberUser(u));
  return found.users.filter((u) => u.id !== ctx.state.me.id);
}

export async function pickUser(ctx, title) {
  const results = h("ul.results", { "aria-live": "polite" });
  const input = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search users" });
  const box = dialog({ title, body: [input, results], focus: input, actions: [{ label: "Cancel", value: null, class: "secondary" }] });
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    if (!q) return clear(results);
    try {
      const users = await search(ctx, q);
      clear(results, users.map((u) =>
        h("li", h("button.secondary.person-pick", { type: "button", on: { click: () => box.close(u) } }, userAvatar(u), name(u.display_name), botBadge(u), h("small", ` @${u.username}`)))));
    } catch { /* rate limited or offline: keep the old results */ }
  });
  return box.closed;
}

/** Several users at once: search, tick, search again; the chosen ones stay listed above.
 * Resolves with the chosen users (possibly none), or null on Cancel. `exclude`: ids already in. */
export async function pickUsers(ctx, title, { exclude = new Set() } = {}) {
  const chosen = new Map(); // id -> user
  const chips = h("ul.chips", { "aria-label": "Chosen" });
  const results = h("ul.results");
  const input = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search users" });
  const count = h("p.muted", { role: "status" });
  let box = null;
  const renderChosen = () => {
    clear(chips, [...chosen.values()].map((u) => h("li.chip", name(u.display_name),
      h("button.icon", { type: "button", "aria-label": `Remove ${u.display_name}`, on: { click: () => { chosen.delete(u.id); renderChosen(); renderResults(); } } }, "✕"))));
    count.textContent = chosen.size ? `${chosen.size} chosen` : "Nobody chosen yet.";
    const add = box?.overlay.querySelector("[data-action=Add]");
    if (add) add.disabled = !chosen.size;
  };
  let last = [];
  const renderResults = () => clear(results, last.map((u) => {
    const already = exclude.has(u.id);
    const box = h("input", { type: "checkbox", checked: chosen.has(u.id) || already, disabled: already,
      on: { change: (e) => { if (e.target.checked) chosen.set(u.id, u); else chosen.delete(u.id); renderChosen(); } } });
    return h("li", h("label.pick", box, userAvatar(u), name(u.display_name), botBadge(u), h("small", ` @${u.username}`), already ? h("small", " (already a member)") : null));
  }));
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    if (!q) { last = []; return renderResults(); }
    try { last = await search(ctx, q); renderResults(); } catch { /* keep the old results */ }
  });
  box = dialog({ title, body: [input, results, h("h3.visually-hidden", "Chosen"), chips, count], focus: input,
    actions: [{ label: "Cancel", value: null, class: "secondary" }, { label: "Add", value: "add" }] });
  renderChosen();
  const answer = await box.closed;
  return answer === "add" ? [...chosen.values()] : null;
}
