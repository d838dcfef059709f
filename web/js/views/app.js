// The signed-in screen: the sidebar (you, your conversations, contacts, notifications) and the
// open conversation.

import { clear, dialog, h, modal, name, timeOf } from "../dom.js";
import { toggleTheme } from "../theme.js";
import { persistent } from "../storage.js";
import { plainText } from "../markdown.js";
import { showChat } from "./chat.js";
import { pickUser } from "./pick.js";
import { profileCard } from "./people.js";

const STATUS_TEXT = { connecting: "Connecting…", resyncing: "Catching up…", online: "Online", offline: "Offline — reconnecting" };

export function showApp(root, ctx) {
  const { state } = ctx;
  const statusLine = h("span.connection", { "data-status": state.status });
  const bell = h("button.icon", { type: "button", "aria-label": "Notifications", title: "Notifications", on: { click: () => showNotifications(ctx) } }, "🔔", h("span.badge.hidden"));
  const list = h("nav.conversations", { "aria-label": "Conversations" });
  const main = h("main.chat", { "aria-label": "Conversation" }, h("p.empty", "Pick a conversation, or start one."));
  const sidebar = h("aside.sidebar",
    h("header.me",
      h("div.who", h("strong.name", name(state.me.display_name)), statusLine),
      h("div.tools",
        bell,
        h("button.icon", { type: "button", "aria-label": "Switch theme", title: "Light / dark", on: { click: toggleTheme } }, "◐"),
        h("button.icon", { type: "button", "aria-label": "Sign out", title: "Sign out", on: { click: ctx.signOut } }, "⎋"))),
    h("div.new",
      h("button", { type: "button", on: { click: () => startDirect(ctx) } }, "New chat"),
      h("button.secondary", { type: "button", on: { click: () => startGroup(ctx) } }, "New group"),
      h("button.secondary", { type: "button", on: { click: () => showContacts(ctx) } }, "Contacts")),
    persistent ? null : h("p.notice", { role: "note" }, "This browser does not let Confab keep your sign-in here: reloading the page signs you out."),
    list);
  clear(root, h("div.layout", sidebar, main));

  let disposeChat = null;
  const open = (id) => {
    disposeChat?.();
    state.current = id;
    root.querySelector(".layout").classList.add("chat-open");
    disposeChat = showChat(main, ctx, id, () => {
      disposeChat?.();
      disposeChat = null;
      state.current = null;
      root.querySelector(".layout").classList.remove("chat-open");
      clear(main, h("p.empty", "Pick a conversation, or start one."));
      renderList();
    });
    renderList();
  };
  ctx.open = open;

  const renderList = () => {
    const conversations = [...state.conversations.values()].sort((a, b) => b.last_activity_at.localeCompare(a.last_activity_at));
    // Before the first sync the list is not known to be empty: say why it is blank instead.
    const empty = state.synced ? "No conversations yet." : state.status === "offline" ? "Offline — your conversations appear once connected." : "Loading conversations…";
    clear(list, conversations.length ? conversations.map((c) => conversationItem(ctx, c, open)) : h("p.empty", empty));
  };
  const renderStatus = () => {
    statusLine.dataset.status = state.status;
    statusLine.textContent = STATUS_TEXT[state.status] || state.status;
  };
  const renderBell = () => {
    const badge = bell.querySelector(".badge");
    badge.textContent = state.unreadNotifications ? String(state.unreadNotifications) : "";
    badge.classList.toggle("hidden", !state.unreadNotifications);
  };

  state.addEventListener("change", (e) => {
    const what = e.detail.what;
    if (what === "conversations" || what === "presence") renderList();
    if (what === "status") { renderStatus(); renderList(); }
    // Events carry no per-viewer fields (presence, unread): a new conversation is read once as we see it.
    if (what === "conversation-new") {
      ctx.api.get(`/api/v1/conversations/${e.detail.conversation}`).then((c) => {
        if (!state.conversations.has(c.id)) return;
        state.setConversation(c);
        state.changed("conversations");
        state.changed("presence");
      }).catch(() => {});
    }
    if (what === "notifications") {
      renderBell();
      const created = e.detail.created;
      if (created && !created.silent && document.hidden && "Notification" in window && Notification.permission === "granted") {
        new Notification("Confab", { body: created.excerpt || created.kind.replace("_", " ") });
      }
    }
  });
  state.onUnknownUser = (id) => {
    ctx.api.get(`/api/v1/users/${encodeURIComponent(id)}`).then((user) => {
      state.rememberUser(user);
      state.changed("names");
    }).catch(() => {});
  };
  renderStatus();
  renderList();
  ctx.api.get("/api/v1/notifications?limit=50").then((feed) => {
    state.notifications = feed.notifications;
    state.unreadNotifications = feed.unread_count;
    renderBell();
  }).catch(() => {});
  ctx.api.get("/api/v1/activities").then((a) => { state.activities = a.activities; }).catch(() => {});
}

function conversationItem(ctx, c, open) {
  const { state } = ctx;
  const other = state.otherMember(c);
  const presence = other ? state.presence.get(other.id) : null;
  const last = c.last_message;
  const preview = !last ? "" : last.kind === "system" ? "Group updated" : last.kind === "invitation" ? `Invitation: ${last.invitation?.label || ""}` : last.deleted_at ? "Message deleted" : last.collapsed ? "Hidden message" : plainText(last.body);
  return h("button.conversation", { type: "button", "aria-current": state.current === c.id ? "true" : null, dataset: { id: c.id }, on: { click: () => open(c.id) } },
    h("span.dot", { "data-presence": presence?.status || (c.kind === "group" ? "group" : "offline"), "aria-hidden": "true" }),
    h("span.title", name(state.title(c))),
    c.unread_count ? h("span.badge", { "aria-label": `${c.unread_count} unread` }, String(c.unread_count)) : null,
    h("span.preview", h("bdi", preview)),
    last ? h("time", timeOf(last.created_at)) : null);
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
    const row = (c, actions) => h("li", h("button.link", { type: "button", on: { click: () => profileCard(ctx, c.user) } }, name(c.user.display_name)), " ",
      c.presence ? h("span.dot", { "data-presence": c.presence.status, title: c.presence.status }) : null, ...actions);
    const act = (label, fn) => h("button.secondary", { type: "button", on: { click: async () => { await fn(); refresh(); } } }, label);
    clear(body,
      h("h3", "Contacts"), h("ul", list.contacts.map((c) => row(c, [act("Message", async () => { const dm = await ctx.api.post("/api/v1/conversations", { kind: "direct", members: [c.user.id] }); ctx.state.setConversation(dm); ctx.state.changed("conversations"); box.close(); ctx.open(dm.id); }), act("Remove", () => ctx.api.del(`/api/v1/contacts/${c.user.id}`))]))),
      h("h3", "Requests for you"), h("ul", list.incoming.map((c) => row(c, [act("Accept", () => ctx.api.post(`/api/v1/contacts/${c.user.id}/accept`)), act("Decline", () => ctx.api.post(`/api/v1/contacts/${c.user.id}/decline`))]))),
      h("h3", "Your requests"), h("ul", list.outgoing.map((c) => row(c, [act("Cancel", () => ctx.api.del(`/api/v1/contacts/${c.user.id}`))]))),
      h("button", { type: "button", on: { click: async () => { const u = await pickUser(ctx, "Add a contact"); if (u) { await ctx.api.post(`/api/v1/contacts/${u.id}`).catch((e) => modal("Cannot add", e.message)); refresh(); } } } }, "Add a contact"));
  };
  const box = dialog({ title: "Contacts", wide: true, body: [body], actions: [{ label: "Close", value: null, class: "secondary" }] });
  refresh().catch(() => {});
}

function showNotifications(ctx) {
  const { state } = ctx;
  if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  const describe = (n) => ({
    mention: "mentioned you", reply: "replied to you", invitation: "invited you", invitation_update: "invitation update",
    contact_request: "wants to be your contact", contact_accepted: "accepted your request", direct_message: "wrote to you",
  })[n.kind] || n.kind;
  let box = null;
  const items = state.notifications.length ? state.notifications.map((n) =>
    h("li", { class: n.read ? "read" : "" },
      h("button.link", { type: "button", on: { click: () => { box.close(); if (n.conversation_id && state.conversations.has(n.conversation_id)) ctx.open(n.conversation_id); } } },
        h("strong", n.actor_id ? name(state.userName(n.actor_id)) : "Confab"), " ", describe(n)),
      n.excerpt ? h("p.excerpt", { dir: "auto" }, n.excerpt) : null,
      h("time", timeOf(n.created_at)))) : h("li.empty", "Nothing yet.");
  box = dialog({ title: "Notifications", wide: true, body: [h("ul.notifications", items)], actions: [
    { label: "Mark all read", class: "secondary", close: false, onClick: () => ctx.api.post("/api/v1/notifications/read", {}).catch(() => {}) },
    { label: "Close", value: null },
  ] });
}
