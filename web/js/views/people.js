// A user's profile card: name, bio, presence, the link to their profile in the host app, and
// what you can do about them (contact, block, restrict).

import { h, modal } from "../dom.js";

export async function profileCard(ctx, user) {
  const presence = ctx.state.presence.get(user.id);
  const own = user.id === ctx.state.me.id;
  const blocks = own ? null : await ctx.api.get("/api/v1/blocks").catch(() => null);
  const blocked = blocks?.blocked.some((u) => u.id === user.id);
  const restricted = blocks?.restricted.some((u) => u.id === user.id);
  const run = (fn) => async () => {
    try { await fn(); overlay.remove(); } catch (e) { modal("That did not work", e.message); }
  };
  const profileLink = user.profile_url && /^https?:\/\//.test(user.profile_url)
    ? h("a", { href: user.profile_url, target: "_blank", rel: "noopener noreferrer" }, "Profile") : null;
  const overlay = h("div.overlay", { role: "dialog", "aria-modal": "true", "aria-label": "Profile" },
    h("div.modal.profile",
      h("h2", user.display_name),
      h("p.muted", `@${user.username}`, presence ? ` · ${presence.status}` : ""),
      presence?.status_text ? h("p", presence.status_text) : null,
      user.bio ? h("p.bio", user.bio) : null,
      profileLink,
      own ? null : h("div.actions",
        h("button.secondary", { type: "button", on: { click: run(() => ctx.api.post(`/api/v1/contacts/${user.id}`)) } }, "Add contact"),
        h("button.secondary", { type: "button", on: { click: run(() => restricted ? ctx.api.del(`/api/v1/restrictions/${user.id}`) : ctx.api.put(`/api/v1/restrictions/${user.id}`)) } }, restricted ? "Unmute" : "Mute"),
        h("button.danger", { type: "button", on: { click: run(() => blocked ? ctx.api.del(`/api/v1/blocks/${user.id}`) : ctx.api.put(`/api/v1/blocks/${user.id}`)) } }, blocked ? "Unblock" : "Block")),
      h("div.actions", h("button", { type: "button", on: { click: () => overlay.remove() } }, "Close"))));
  overlay.addEventListener("keydown", (e) => { if (e.key === "Escape") overlay.remove(); });
  document.body.append(overlay);
}
