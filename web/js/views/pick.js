// A dialog to pick another user by name, for a new chat, a contact or a group member.

import { clear, dialog, h, name } from "../dom.js";

export async function pickUser(ctx, title) {
  const results = h("ul.results");
  const input = h("input", { type: "search", placeholder: "Search by name", "aria-label": "Search users" });
  const box = dialog({ title, body: [input, results], focus: input, actions: [{ label: "Cancel", value: null, class: "secondary" }] });
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    if (!q) return clear(results);
    try {
      const found = await ctx.api.get(`/api/v1/users?q=${encodeURIComponent(q)}&limit=10`);
      found.users.forEach((u) => ctx.state.rememberUser(u));
      clear(results, found.users.filter((u) => u.id !== ctx.state.me.id).map((u) =>
        h("li", h("button.secondary", { type: "button", on: { click: () => box.close(u) } }, name(u.display_name), h("small", ` @${u.username}`)))));
    } catch { /* rate limited or offline: keep the old results */ }
  });
  return box.closed;
}
