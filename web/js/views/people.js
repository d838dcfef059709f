// A user's profile card: name, bio, presence, the link to their profile in the host app, and
// what you can do about them (contact, block, restrict).

import { botBadge, dialog, externalLink, h, modal, name, userAvatar } from "../dom.js";

export async function profileCard(ctx, known) {
  const { state } = ctx;
  const presence = state.presence.get(known.id);
  const own = known.id === state.me.id;
  // Read again: no event says that someone changed their name or picture.
  const [blocks, fresh] = await Promise.all([
    own ? null : ctx.api.get("/api/v1/blocks").catch(() => null),
    ctx.api.get(`/api/v1/users/${encodeURIComponent(known.id)}`).catch(() => null),
  ]);
  const user = fresh || known;
  if (fresh && (fresh.avatar_url !== known.avatar_url || fresh.display_name !== known.display_name)) {
    state.updateUser(fresh);
    state.changed("names");
    state.changed("conversations");
  }
  const blocked = blocks?.blocked.some((u) => u.id === user.id);
  const restricted = blocks?.restricted.some((u) => u.id === user.id);
  let box = null;
  const run = (fn, after) => async () => {
    try { await fn(); box.close(); after?.(); } catch (e) { modal("That did not work", e.message); }
  };
  // Blocking collapses their messages in history and unblocking restores them: read it again.
  const historyChanged = () => state.invalidateMessages();
  // The profile link leaves Confab like any other link: through the warning.
  const profileLink = user.profile_url && /^https?:\/\//.test(user.profile_url) ? h("p", externalLink(user.profile_url, "Profile")) : null;
  const actions = own ? [] : [
    { label: "Add contact", class: "secondary", close: false, onClick: run(() => ctx.api.post(`/api/v1/contacts/${user.id}`)) },
    { label: restricted ? "Unmute" : "Mute", class: "secondary", close: false, onClick: run(() => restricted ? ctx.api.del(`/api/v1/restrictions/${user.id}`) : ctx.api.put(`/api/v1/restrictions/${user.id}`)) },
    { label: blocked ? "Unblock" : "Block", class: "danger", close: false, onClick: async () => {
      if (!blocked && !(await modal(`Block ${user.display_name}?`, "They can no longer message you or see when you are online, and their messages in shared groups are hidden from you. They are not told.", "Block", { danger: true }))) return;
      run(() => blocked ? ctx.api.del(`/api/v1/blocks/${user.id}`) : ctx.api.put(`/api/v1/blocks/${user.id}`), historyChanged)();
    } },
  ];
  actions.push({ label: "Close", value: null });
  box = dialog({
    title: [name(user.display_name), botBadge(user)],
    className: "profile",
    body: [
      h("div.me-card", userAvatar(user, { size: "large", presence: presence?.status }), h("p.muted", `@${user.username}`, presence ? ` · ${presence.status}` : "")),
      presence?.status_text ? h("p.status", { dir: "auto" }, presence.status_text) : null,
      user.bio ? h("p.bio", { dir: "auto" }, user.bio) : null,
      profileLink,
    ],
    actions,
  });
  box.overlay.setAttribute("aria-label", "Profile");
}
