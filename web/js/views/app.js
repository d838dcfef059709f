// The signed-in screen: the sidebar (you, your conversations, contacts, notifications), the open
// conversation, the address of what is open (router.js), the tab title and the shortcuts.

import { announce, avatar, clear, dialog, h, modal, name, timeOf, userAvatar } from "../dom.js";
import { navigate, onRoute, parseRoute } from "../router.js";
import { toggleTheme } from "../theme.js";
import { persistent } from "../storage.js";
import { plainText } from "../markdown.js";
import { attachmentSummary } from "../files.js";
import { withTones } from "../tones.js";
import { stickerSummary } from "../stickers.js";
import { loadStickers } from "./stickers.js";
import { loadGifProvider } from "./gifs.js";
import { describeSystem } from "../timeline/render.js";
import { showChat } from "./chat.js";
import { showMe } from "./me.js";
import { desktopNotifications } from "./notify.js";
import { pickUser } from "./pick.js";
import { profileCard } from "./people.js";

const STATUS_TEXT = { connecting: "Connecting…", resyncing: "Catching up…", online: "Online", offline: "Offline — reconnecting" };
const EMPTY_CHAT = "Pick a conversation, or start one.";

export function showApp(root, ctx) {
  const { state } = ctx;
  const statusLine = h("span.connection", { "data-status": state.status });
  const bell = h("button.icon", { type: "button", "aria-label": "Notifications", title: "Notifications", on: { click: () => showNotifications(ctx) } }, "🔔", h("span.badge.hidden"));
  const meAvatar = h("span.me-avatar");
  const meName = h("strong.name");
  const meButton = h("button.me-button", { type: "button", title: "Your profile, status and sessions", on: { click: () => showMe(ctx) } },
    meAvatar, h("span.who", h("span.visually-hidden", "Me: "), meName, statusLine));
  const filter = h("input.filter", { type: "search", placeholder: "Search conversations (Ctrl+K)", "aria-label": "Search conversations", autocomplete: "off" });
  const list = h("nav.conversations", { "aria-label": "Conversations" });
  const main = h("main.chat", { "aria-label": "Conversation", tabindex: "-1" }, h("p.empty", EMPTY_CHAT));
  const offline = h("p.offline-banner.hidden", { role: "status" });
  const notices = h("div.notices");
  const sidebar = h("aside.sidebar", { "aria-label": "Sidebar" },
    h("header.me", meButton,
      h("div.tools",
        bell,
        h("button.icon", { type: "button", "aria-label": "Switch theme", title: "Light / dark", on: { click: toggleTheme } }, "◐"),
        h("button.icon", { type: "button", "aria-label": "Sign out", title: "Sign out", on: { click: () => ctx.signOut() } }, "⎋"))),
    h("div.search", filter),
    h("div.new",
      h("button", { type: "button", on: { click: () => startDirect(ctx) } }, "New chat"),
      h("button.secondary", { type: "button", on: { click: () => startGroup(ctx) } }, "New group"),
      h("button.secondary", { type: "button", on: { click: () => showContacts(ctx) } }, "Contacts")),
    persistent ? null : h("p.notice", { role: "note" }, "This browser does not let Confab keep your sign-in here: reloading the page signs you out."),
    notices,
    list);
  const layout = h("div.layout", sidebar, main);
  clear(root, h("div.shell", offline, layout));
  const cleanups = [];

  // The open conversation follows the address: clicking, Back/Forward, a permalink, a reload.
  let view = null; // {id, jumpTo?, dispose}
  const closeChat = () => {
    const was = view?.id;
    const focusInChat = main.contains(document.activeElement) || document.activeElement === document.body;
    view?.dispose?.();
    view = null;
    state.current = null;
    layout.classList.remove("chat-open");
    clear(main, h("p.empty", EMPTY_CHAT));
    renderList();
    renderTitle();
    // Back to the list: the keyboard lands on the conversation just left, not on the page's top.
    if (was && focusInChat) list.querySelector(`.conversation[data-id="${CSS.escape(was)}"]`)?.focus();
  };
  ctx.main = main;
  ctx.closeChat = () => navigate(null);
  const openChat = (id, seq) => {
    if (view?.id === id) {
      if (seq) jump(seq);
      return;
    }
    view?.dispose?.();
    state.current = id;
    layout.classList.add("chat-open");
    // chat.js: `showChat(ctx, id, {seq})` → {jumpTo?, dispose}; the older
    // `showChat(main, ctx, id, onBack)` → dispose. Both work.
    const shown = showChat.length >= 4 ? showChat(main, ctx, id, ctx.closeChat) : showChat(ctx, id, { seq });
    view = typeof shown === "function" ? { dispose: shown } : { ...(shown || {}) };
    view.id = id;
    if (seq) jump(seq);
    renderList();
    renderTitle();
  };
  const jump = (seq) => {
    if (view?.jumpTo) return view.jumpTo(seq);
    // Without jumpTo: scroll to the message once it is on the page (loaded pages only).
    const started = Date.now();
    const find = () => {
      const el = main.querySelector(`[data-seq="${Number(seq)}"]`);
      if (el) {
        el.scrollIntoView({ block: "center" });
        el.classList.add("flash");
        setTimeout(() => el.classList.remove("flash"), 1500);
      } else if (Date.now() - started < 4000) setTimeout(find, 150);
    };
    find();
  };
  const notFound = () => {
    // The address is corrected (so a reload does not ask again), then the reason is shown.
    navigate(null, null, { replace: true });
    closeChat();
    clear(main, h("p.empty", { role: "status" }, "That conversation is not available: it was deleted, or you are not a member."));
  };
  const follow = async ({ id, seq }) => {
    if (!id) return closeChat();
    if (!state.conversations.has(id)) {
      // Not in the list (yet): before the first sync, wait for it; after, ask the server.
      if (!state.synced) return;
      try {
        state.setConversation(await ctx.api.get(`/api/v1/conversations/${id}`));
        state.changed("conversations");
      } catch {
        return notFound();
      }
    }
    openChat(id, seq);
  };
  cleanups.push(onRoute(follow));
  ctx.open = (id, seq = null) => navigate(id, seq);

  const renderList = () => {
    const q = filter.value.trim().toLowerCase();
    const all = state.sortedConversations();
    const conversations = q ? all.filter((c) => state.title(c).toLowerCase().includes(q)) : all;
    // Before the first sync the list is not known to be empty: say why it is blank instead.
    const empty = q ? "No conversation matches." : state.synced ? "No conversations yet." : state.status === "offline" ? "Offline — your conversations appear once connected." : "Loading conversations…";
    const focusedId = document.activeElement?.closest?.(".conversation")?.dataset.id;
    clear(list, conversations.length ? conversations.map((c) => conversationItem(ctx, c)) : h("p.empty", empty));
    // A redraw keeps keyboard focus on the same conversation.
    if (focusedId) list.querySelector(`.conversation[data-id="${CSS.escape(focusedId)}"]`)?.focus();
  };
  const renderMe = () => {
    // What you chose (invisible shows as such to you), dimmed while the connection is down.
    const chosen = state.ownPresence?.status || "online";
    clear(meAvatar, userAvatar(state.me, { presence: state.status === "online" ? chosen : "offline" }));
    clear(meName, name(state.me.display_name));
  };
  const renderStatus = () => {
    statusLine.dataset.status = state.status;
    statusLine.textContent = STATUS_TEXT[state.status] || state.status;
    const down = state.status === "offline";
    offline.classList.toggle("hidden", !down);
    offline.textContent = down ? "You are offline. Confab keeps trying to reconnect; what you write is sent once the connection is back." : "";
    renderMe();
  };
  const renderBell = () => {
    const badge = bell.querySelector(".badge");
    badge.textContent = state.unreadNotifications ? String(state.unreadNotifications) : "";
    badge.classList.toggle("hidden", !state.unreadNotifications);
    bell.setAttribute("aria-label", state.unreadNotifications ? `Notifications, ${state.unreadNotifications} unread` : "Notifications");
  };
  const renderTitle = () => {
    const total = state.unreadTotal();
    const open = state.current && state.conversations.get(state.current);
    const place = open ? `${state.title(open)} · Confab` : "Confab";
    document.title = total ? `(${total}) ${place}` : place;
  };

  const desktop = desktopNotifications(ctx, notices);
  cleanups.push(desktop.dispose);

  const onChange = (e) => {
    const what = e.detail.what;
    if (what === "conversations" || what === "presence") { renderList(); renderTitle(); }
    if (what === "presence") renderMe();
    if (what === "status") { renderStatus(); renderList(); }
    if (what === "conversations" && state.synced && !view) {
      // The first sync brought the list: open what the address names.
      const route = parseRoute();
      if (route.id) follow(route);
    }
    // Events carry no per-viewer fields (presence, unread): a new conversation is read once as we see it.
    if (what === "conversation-new") {
      ctx.api.get(`/api/v1/conversations/${e.detail.conversation}`).then((c) => {
        if (!state.conversations.has(c.id)) return;
        state.setConversation(c);
        state.changed("conversations");
        state.changed("presence");
      }).catch(() => {});
    }
    if (what === "removed" && e.detail.conversation !== state.current) renderList();
    if (what === "notifications") renderBell();
    // The lists name tones and theme presets in the previews.
    if (what === "tones" || what === "themes") renderList();
  };
  state.addEventListener("change", onChange);
  cleanups.push(() => state.removeEventListener("change", onChange));
  state.onUnknownUser = (id) => {
    ctx.api.get(`/api/v1/users/${encodeURIComponent(id)}`).then((user) => {
      state.rememberUser(user);
      state.changed("names");
    }).catch(() => {});
  };
  filter.addEventListener("input", renderList);
  filter.addEventListener("keydown", (e) => {
    // Enter opens the first match; Escape clears the search and goes back to the list.
    if (e.key === "Enter") { e.preventDefault(); list.querySelector(".conversation")?.click(); }
    if (e.key === "Escape") { filter.value = ""; renderList(); }
    if (e.key === "ArrowDown") { e.preventDefault(); list.querySelector(".conversation")?.focus(); }
  });
  list.addEventListener("keydown", (e) => {
    // The list is one tab stop; arrows move inside it.
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    const items = [...list.querySelectorAll(".conversation")];
    const at = items.indexOf(document.activeElement);
    if (at < 0) return;
    e.preventDefault();
    items[Math.max(0, Math.min(items.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)))].focus();
  });

  const onKey = (e) => shortcut(e, { ctx, filter });
  document.addEventListener("keydown", onKey);
  cleanups.push(() => document.removeEventListener("keydown", onKey));
  // A file dropped beside the conversation (which takes drops) would be opened by the browser,
  // leaving Confab.
  const keepDrops = (e) => { if (e.dataTransfer?.types.includes("Files")) e.preventDefault(); };
  for (const type of ["dragover", "drop"]) document.addEventListener(type, keepDrops);
  cleanups.push(() => { for (const type of ["dragover", "drop"]) document.removeEventListener(type, keepDrops); });

  renderStatus();
  renderList();
  renderTitle();
  ctx.api.get("/api/v1/notifications?limit=50").then((feed) => {
    state.notifications = feed.notifications;
    state.unreadNotifications = feed.unread_count;
    renderBell();
  }).catch(() => {});
  ctx.api.get("/api/v1/activities").then((a) => { state.activities = a.activities; }).catch(() => {});
  ctx.api.get("/api/v1/me/presence").then((p) => { state.ownPresence = p; renderMe(); }).catch(() => {});
  // Read once: what tone indicators mean, and the names of theme presets.
  ctx.api.get("/api/v1/tones").then((t) => { state.tones = t.tones || []; state.changed("tones"); }).catch(() => {});
  ctx.api.get("/api/v1/themes").then((t) => { state.themes = t.presets || []; state.changed("themes"); }).catch(() => {});
  // Whether the composer offers stickers (packs exist, or you may make them) and GIFs (the server
  // has a provider). Without an answer neither button shows.
  loadStickers(ctx).catch(() => {});
  loadGifProvider(ctx).catch(() => {});
  ctx.announce = announce;

  return () => {
    for (const cleanup of cleanups) cleanup();
    view?.dispose?.();
    document.title = "Confab";
  };
}

const SHORTCUTS = [
  ["Alt + ↑ / ↓", "Previous / next conversation"],
  ["Alt + Shift + ↑ / ↓", "Previous / next unread conversation"],
  ["Ctrl + K", "Search the conversation list"],
  ["↑ / ↓ in the list", "Move between conversations"],
  ["Escape", "Close a dialog"],
  ["?", "Show these shortcuts"],
];

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

function shortcut(e, { ctx, filter }) {
  const { state } = ctx;
  if (document.querySelector(".overlay")) return; // a dialog has the keyboard
  if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "k") {
    e.preventDefault();
    filter.focus();
    filter.select();
    return;
  }
  if (e.altKey && !e.ctrlKey && !e.metaKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
    e.preventDefault();
    const step = e.key === "ArrowDown" ? 1 : -1;
    const all = state.sortedConversations();
    // The address changes at once; `state.current` only when the hashchange event has run.
    const current = parseRoute().id ?? state.current;
    const at = all.findIndex((c) => c.id === current);
    const candidates = e.shiftKey ? all.filter((c) => c.unread_count && c.id !== current) : all;
    if (!candidates.length) return ctx.announce?.(e.shiftKey ? "No unread conversations" : "No conversations");
    let next;
    if (e.shiftKey) {
      // The nearest unread one in that direction, wrapping around.
      const order = (c) => all.indexOf(c);
      const ahead = candidates.filter((c) => (step > 0 ? order(c) > at : order(c) < at));
      next = step > 0 ? (ahead[0] || candidates[0]) : (ahead.at(-1) || candidates.at(-1));
    } else {
      next = all[at < 0 ? (step > 0 ? 0 : all.length - 1) : (at + step + all.length) % all.length];
    }
    ctx.open(next.id);
    ctx.announce?.(`${state.title(next)}${next.unread_count ? `, ${next.unread_count} unread` : ""}`);
    return;
  }
  if (e.key === "?" && !typing(e.target) && !e.ctrlKey && !e.altKey && !e.metaKey) {
    e.preventDefault();
    dialog({ title: "Keyboard shortcuts", body: [h("dl.shortcuts", SHORTCUTS.map(([keys, what]) => [h("dt", h("kbd", keys)), h("dd", what)]))] });
  }
}

function conversationItem(ctx, c) {
  const { state } = ctx;
  const other = state.otherMember(c);
  const presence = other ? state.presence.get(other.id) : null;
  const last = c.last_message;
  const preview = !last ? "" : last.kind === "system" ? systemText(state, last) : last.kind === "invitation" ? `Invitation: ${last.invitation?.label || ""}` : last.deleted_at ? "Message deleted" : last.collapsed ? "Hidden message" : last.kind === "sticker" ? stickerSummary(last.sticker) : withTones(plainText(last.body), last.tones) || attachmentSummary(last.attachments);
  const title = state.title(c);
  const unread = c.unread_count || 0;
  const muted = c.notification_level === "none";
  // The accessible name is the visible text, with what the eye gets from colour said in words.
  const picture = avatar(title, other?.id || c.id, { url: other ? other.avatar_url : c.avatar_url });
  if (other) picture.append(h("span.dot", { "data-presence": presence?.status || "offline", "aria-hidden": "true" }));
  return h("button.conversation", {
    type: "button", class: `conversation${unread ? " unread" : ""}`, "aria-current": state.current === c.id ? "true" : null,
    dataset: { id: c.id }, on: { click: () => ctx.open(c.id) },
  },
    picture,
    h("span.title", name(title), other && presence && presence.status !== "offline" ? h("span.visually-hidden", `, ${presence.status}`) : null, muted ? h("span.visually-hidden", ", muted") : null),
    unread ? [h("span.badge", String(unread)), h("span.visually-hidden", " unread")] : null,
    h("span.preview", h("bdi", preview)),
    last ? h("time", { datetime: last.created_at }, timeOf(last.created_at)) : null);
}

/** A group event (or a theme change, also in a direct conversation) as the timeline says it. */
function systemText(state, m) {
  const presetName = (id) => state.themes.find((t) => t.id === id)?.name || null;
  return h("span", describeSystem(m, (u) => state.userName(u), { presetName })).textContent;
}

async function startDirect(ctx) {
  const user = await pickUser(ctx, "New chat");
  if (!user) return;
  try {
    const c = await ctx.api.post("/api/v1/conversations", { kind: "direct", members: [user.id] });
    ctx.state.setConversation(c);
    ctx.state.changed("conversations");
    ctx.open(c.id);
  } catch (e) {
    modal("Cannot start the chat", e.message);
  }
}

async function startGroup(ctx) {
  const field = h("input", { "aria-label": "Group name", maxlength: 100, placeholder: "Group name" });
  const ok = await dialog({ title: "New group", body: [field], focus: field,
    actions: [{ label: "Cancel", value: false, class: "secondary" }, { label: "Create", value: true }] }).closed;
  if (!ok || !field.value.trim()) return;
  try {
    const c = await ctx.api.post("/api/v1/conversations", { kind: "group", name: field.value.trim(), members: [] });
    ctx.state.setConversation(c);
    ctx.state.changed("conversations");
    ctx.open(c.id);
  } catch (e) {
    modal("Cannot create the group", e.message);
  }
}

async function showContacts(ctx) {
  const body = h("div.contacts");
  const refresh = async () => {
    const list = await ctx.api.get("/api/v1/contacts");
    const row = (c, actions) => h("li.person", userAvatar(c.user, { presence: c.presence?.status }),
      h("button.link", { type: "button", on: { click: () => profileCard(ctx, c.user) } }, name(c.user.display_name)),
      c.presence ? h("span.visually-hidden", `, ${c.presence.status}`) : null, h("span.row-actions", actions));
    const act = (label, fn) => h("button.secondary", { type: "button", on: { click: async () => { try { await fn(); } catch (e) { modal("That did not work", e.message); } refresh(); } } }, label);
    const section = (title, items, empty) => [h("h3", title), items.length ? h("ul", items) : h("p.muted", empty)];
    clear(body,
      section("Contacts", list.contacts.map((c) => row(c, [act("Message", async () => { const dm = await ctx.api.post("/api/v1/conversations", { kind: "direct", members: [c.user.id] }); ctx.state.setConversation(dm); ctx.state.changed("conversations"); box.close(); ctx.open(dm.id); }), act("Remove", async () => { if (await modal("Remove this contact?", `${c.user.display_name} is no longer your contact.`, "Remove", { danger: true })) await ctx.api.del(`/api/v1/contacts/${c.user.id}`); })])), "No contacts yet."),
      section("Requests for you", list.incoming.map((c) => row(c, [act("Accept", () => ctx.api.post(`/api/v1/contacts/${c.user.id}/accept`)), act("Decline", () => ctx.api.post(`/api/v1/contacts/${c.user.id}/decline`))])), "None."),
      section("Your requests", list.outgoing.map((c) => row(c, [act("Cancel", () => ctx.api.del(`/api/v1/contacts/${c.user.id}`))])), "None."),
      h("button", { type: "button", on: { click: async () => { const u = await pickUser(ctx, "Add a contact"); if (u) { await ctx.api.post(`/api/v1/contacts/${u.id}`).catch((e) => modal("Cannot add", e.message)); refresh(); } } } }, "Add a contact"));
  };
  const box = dialog({ title: "Contacts", wide: true, body: [body], actions: [{ label: "Close", value: null, class: "secondary" }] });
  refresh().catch(() => {});
}

function showNotifications(ctx) {
  const { state } = ctx;
  const describe = (n) => ({
    mention: "mentioned you", reply: "replied to you", invitation: "invited you", invitation_update: "invitation update",
    contact_request: "wants to be your contact", contact_accepted: "accepted your request", direct_message: "wrote to you",
  })[n.kind] || n.kind;
  let box = null;
  const openIt = (n) => {
    box.close();
    if (!n.conversation_id || !state.conversations.has(n.conversation_id)) return;
    // Held messages give their seq; an older one opens the conversation at its latest.
    const seq = n.message_id ? state.findMessage(n.conversation_id, n.message_id)?.seq : null;
    ctx.open(n.conversation_id, seq || null);
  };
  const items = state.notifications.length ? state.notifications.map((n) =>
    h("li", { class: n.read ? "read" : "" },
      h("button.link", { type: "button", on: { click: () => openIt(n) } },
        h("strong", n.actor_id ? name(state.userName(n.actor_id)) : "Confab"), " ", describe(n)),
      n.excerpt ? h("p.excerpt", { dir: "auto" }, plainText(n.excerpt)) : null,
      h("time", { datetime: n.created_at }, timeOf(n.created_at)))) : h("li.empty", "Nothing yet.");
  box = dialog({ title: "Notifications", wide: true, body: [h("ul.notifications", items)], actions: [
    { label: "Mark all read", class: "secondary", close: false, onClick: () => ctx.api.post("/api/v1/notifications/read", {}).catch(() => {}) },
    { label: "Close", value: null },
  ] });
}
