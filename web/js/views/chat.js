// One conversation: its messages (older ones load on scroll), the composer (Enter sends,
// replies, @mentions with autocomplete), reactions, edits, deletions, invitations, typing and
// read receipts, and group management for owners and admins.

import { clear, h, modal, richText, timeOf } from "../dom.js";
import { pickUser } from "./app.js";
import { profileCard } from "./people.js";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "🏓"];

export function showChat(main, ctx, id, onBack) {
  const { api, state, connection } = ctx;
  let replyTo = null;
  let disposed = false;
  const header = h("header.chat-header");
  const list = h("ol.messages", { "aria-label": "Messages", tabindex: "0" });
  const typingLine = h("p.typing", { "aria-live": "polite" });
  const replyBox = h("div.reply-preview.hidden");
  const suggestions = h("ul.suggestions.hidden", { role: "listbox" });
  const input = h("textarea", { rows: 1, placeholder: "Write a message", "aria-label": "Message", maxlength: 4000 });
  const composer = h("form.composer", { on: { submit: (e) => { e.preventDefault(); send(); } } },
    replyBox, suggestions,
    h("div.row", input,
      h("button.icon", { type: "button", title: "Invite to an activity", "aria-label": "Invite to an activity", on: { click: invite } }, "🎮"),
      h("button", { type: "submit" }, "Send")));
  clear(main, header, list, typingLine, composer);

  const conversation = () => state.conversations.get(id);
  const messages = () => [...(state.messages.get(id)?.values() || [])].sort((a, b) => a.seq - b.seq);
  const myRole = () => conversation()?.members.find((m) => m.user.id === state.me.id)?.role;

  function renderHeader() {
    const c = conversation();
    if (!c) return clear(header, h("button.icon.back", { type: "button", on: { click: onBack } }, "←"), h("h2", "This conversation is gone"));
    const other = state.otherMember(c);
    const presence = other ? state.presence.get(other.id) : null;
    clear(header,
      h("button.icon.back", { type: "button", "aria-label": "Back", on: { click: onBack } }, "←"),
      h("div.title",
        h("h2", other ? h("button.link", { type: "button", on: { click: () => profileCard(ctx, other) } }, state.title(c)) : state.title(c)),
        h("p.muted", c.kind === "group" ? `${c.member_count} members${c.topic ? " · " + c.topic : ""}` : presence ? presence.status + (presence.status_text ? ` · ${presence.status_text}` : "") : "")),
      c.kind === "group" ? h("button.secondary", { type: "button", on: { click: manageGroup } }, "Members") : null);
  }

  function renderMessages() {
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const shown = messages();
    const items = shown.map(messageItem);
    // A queued message whose copy already arrived (the event comes before the ack) shows once.
    const arrived = new Set(shown.filter((m) => m.sender_id === state.me.id && m.client_id).map((m) => m.client_id));
    for (const item of connection.outbox.filter((o) => o.conversation_id === id && !arrived.has(o.client_id))) {
      items.push(h("li.message.mine.pending", h("p.body", item.body), h("small.muted", "sending…")));
    }
    const seen = seenLine();
    clear(list, state.hasOlder.get(id) ? h("li.more", h("button.link", { type: "button", on: { click: loadOlder } }, "Load earlier messages")) : null, items, seen);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function seenLine() {
    const c = conversation();
    const mine = messages().filter((m) => m.sender_id === state.me.id);
    const last = mine[mine.length - 1];
    if (!c || !last) return null;
    const readers = c.members.filter((m) => m.user.id !== state.me.id && m.read_seq >= last.seq).map((m) => m.user.display_name);
    return readers.length ? h("li.seen", `Seen by ${readers.join(", ")}`) : null;
  }

  function messageItem(m) {
    if (m.kind === "system") return h("li.system", { dataset: { seq: m.seq } }, describeSystem(m));
    const mine = m.sender_id === state.me.id;
    const body = m.deleted_at ? h("p.body.deleted", "Message deleted")
      : m.collapsed ? h("p.body.deleted", "Message from a user you blocked")
      : m.kind === "invitation" ? invitationCard(m)
      : h("p.body", richText(m.body, leave));
    const quote = m.reply ? h("button.quote", { type: "button", on: { click: () => jumpTo(m.reply.message_id) } },
      h("strong", state.userName(m.reply.sender_id)), " ", m.reply.deleted ? "(deleted)" : m.reply.excerpt) : null;
    const reactions = m.reactions?.length ? h("div.reactions", m.reactions.map((r) =>
      h("button.reaction", { type: "button", "aria-pressed": String(r.users.includes(state.me.id)), on: { click: () => react(m, r.emoji, !r.users.includes(state.me.id)) } }, `${r.emoji} ${r.count}`))) : null;
    const actions = m.deleted_at || m.collapsed ? null : h("div.actions",
      h("button.link", { type: "button", on: { click: () => startReply(m) } }, "Reply"),
      QUICK_REACTIONS.map((e) => h("button.link", { type: "button", "aria-label": `React ${e}`, on: { click: () => react(m, e, true) } }, e)),
      mine && m.kind === "text" ? h("button.link", { type: "button", on: { click: () => edit(m) } }, "Edit") : null,
      mine || ["owner", "admin"].includes(myRole()) ? h("button.link", { type: "button", on: { click: () => remove(m) } }, "Delete") : null);
    return h("li.message", { class: `message${mine ? " mine" : ""}`, dataset: { seq: m.seq, id: m.id } },
      h("div.meta", h("button.link.author", { type: "button", on: { click: () => openProfile(m.sender_id) } }, state.userName(m.sender_id)), " ",
        h("time", { datetime: m.created_at }, timeOf(m.created_at)), m.edited_at ? h("small.muted", " (edited)") : null),
      quote, body, reactions, actions);
  }

  function invitationCard(m) {
    const inv = m.invitation;
    const mine = m.sender_id === state.me.id;
    const forMe = !mine && (!inv.invitee || inv.invitee === state.me.id);
    const act = (verb) => h("button", { type: "button", on: { click: () => api.post(`/api/v1/conversations/${id}/invitations/${m.id}/${verb}`).catch((e) => modal("Invitation", e.message)) } }, verb[0].toUpperCase() + verb.slice(1));
    const join = inv.result?.join_url && /^https?:\/\//.test(inv.result.join_url) ? h("button", { type: "button", on: { click: () => leave(inv.result.join_url) } }, "Join") : null;
    return h("div.invitation", { "data-state": inv.state },
      h("p", h("strong", state.userName(m.sender_id)), " invites ", inv.invitee ? state.userName(inv.invitee) : "you all", " to ", inv.label),
      h("p.muted", inv.state + (inv.reason ? ` — ${inv.reason}` : "")),
      inv.state === "pending" ? h("div.row", forMe ? [act("accept"), act("decline")] : null, mine ? act("cancel") : null) : null,
      join);
  }

  function describeSystem(m) {
    const who = state.userName(m.sender_id);
    const s = m.system || {};
    const names = (ids) => ids.map((u) => state.userName(u)).join(", ");
    switch (s.action) {
      case "group_created": return `${who} created the group “${s.name}”`;
      case "renamed": return `${who} renamed the group to “${s.to}”`;
      case "topic_changed": return s.topic ? `${who} set the topic: ${s.topic}` : `${who} cleared the topic`;
      case "avatar_changed": return `${who} changed the group picture`;
      case "members_added": return `${who} added ${names(s.users)}`;
      case "member_removed": return `${who} removed ${state.userName(s.user)}`;
      case "member_left": return `${who} left`;
      case "role_changed": return `${who} made ${state.userName(s.user)} ${s.role}`;
      case "ownership_transferred": return `${who} handed the group over to ${state.userName(s.to)}`;
      case "message_pinned": return `${who} pinned a message`;
      case "message_unpinned": return `${who} unpinned a message`;
      default: return `${who} changed the group`;
    }
  }

  function openProfile(userId) {
    const member = conversation()?.members.find((m) => m.user.id === userId);
    if (member) profileCard(ctx, member.user);
  }

  async function leave(url) {
    const ok = await modal("You are leaving Confab", `This link opens ${new URL(url).host}: ${url}`, "Open");
    if (ok) window.open(url, "_blank", "noopener,noreferrer");
  }

  function jumpTo(messageId) {
    const el = list.querySelector(`[data-id="${CSS.escape(messageId)}"]`);
    if (el) { el.scrollIntoView({ block: "center" }); el.classList.add("flash"); setTimeout(() => el.classList.remove("flash"), 1200); }
  }

  function startReply(m) {
    replyTo = m;
    clear(replyBox, "Replying to ", h("strong", state.userName(m.sender_id)), ": ", m.body.slice(0, 80),
      h("button.link", { type: "button", "aria-label": "Cancel reply", on: { click: cancelReply } }, "✕"));
    replyBox.classList.remove("hidden");
    input.focus();
  }

  function cancelReply() {
    replyTo = null;
    replyBox.classList.add("hidden");
  }

  async function send() {
    const body = input.value;
    if (!body.trim()) return;
    input.value = "";
    const reply = replyTo?.id;
    cancelReply();
    suggestions.classList.add("hidden");
    await connection.send(id, body, reply);
    renderMessages();
    list.scrollTop = list.scrollHeight;
  }

  async function react(m, emoji, add) {
    try { await connection.request(add ? "reaction.add" : "reaction.remove", { conversation_id: id, message_id: m.id, emoji }); }
    catch (e) { if (e.code) modal("Reaction", e.message); }
  }

  async function edit(m) {
    const field = h("textarea", { rows: 3, "aria-label": "Edit message", value: m.body });
    const ok = await new Promise((resolve) => {
      const overlay = h("div.overlay", { role: "dialog", "aria-modal": "true", "aria-label": "Edit message" },
        h("div.modal", h("h2", "Edit message"), field, h("div.actions",
          h("button.secondary", { type: "button", on: { click: () => { overlay.remove(); resolve(false); } } }, "Cancel"),
          h("button", { type: "button", on: { click: () => { overlay.remove(); resolve(true); } } }, "Save"))));
      document.body.append(overlay);
      field.focus();
    });
    if (ok && field.value.trim() && field.value !== m.body) {
      await connection.request("message.edit", { conversation_id: id, message_id: m.id, body: field.value }).catch((e) => modal("Edit", e.message));
    }
  }

  async function remove(m) {
    if (await modal("Delete this message?", "It is deleted for everyone.", "Delete")) {
      await connection.request("message.delete", { conversation_id: id, message_id: m.id }).catch((e) => modal("Delete", e.message));
    }
  }

  async function invite() {
    const activity = state.activities[0];
    if (!activity) return modal("No activities", "This server has no activities to invite to.");
    await api.post(`/api/v1/conversations/${id}/invitations`, { activity: activity.id }).catch((e) => modal("Invitation", e.message));
  }

  async function manageGroup() {
    const c = conversation();
    const role = myRole();
    const rows = c.members.map((m) => h("li",
      h("button.link", { type: "button", on: { click: () => profileCard(ctx, m.user) } }, m.user.display_name), ` (${m.role})`,
      role === "owner" && m.user.id !== state.me.id ? h("button.link", { type: "button", on: { click: () => act(() => api.patch(`/api/v1/conversations/${id}/members/${m.user.id}`, { role: m.role === "admin" ? "member" : "admin" })) } }, m.role === "admin" ? "Demote" : "Make admin") : null,
      (role === "owner" || (role === "admin" && m.role === "member")) && m.user.id !== state.me.id ? h("button.link", { type: "button", on: { click: () => act(() => api.del(`/api/v1/conversations/${id}/members/${m.user.id}`)) } }, "Remove") : null));
    const name = h("input", { "aria-label": "Group name", value: c.name, maxlength: 100 });
    const overlay = h("div.overlay", { role: "dialog", "aria-modal": "true", "aria-label": "Members" },
      h("div.modal.wide", h("h2", "Members"), h("ul.members", rows),
        ["owner", "admin"].includes(role) ? h("div.row", name, h("button.secondary", { type: "button", on: { click: () => act(() => api.patch(`/api/v1/conversations/${id}`, { name: name.value })) } }, "Rename")) : null,
        h("div.actions",
          ["owner", "admin"].includes(role) ? h("button.secondary", { type: "button", on: { click: async () => { const u = await pickUser(ctx, "Add a member"); if (u) act(() => api.post(`/api/v1/conversations/${id}/members`, { members: [u.id] })); } } }, "Add member") : null,
          role !== "owner" ? h("button.danger", { type: "button", on: { click: () => act(() => api.del(`/api/v1/conversations/${id}/members/${state.me.id}`)) } }, "Leave") : null,
          h("button", { type: "button", on: { click: () => overlay.remove() } }, "Close"))));
    const act = async (fn) => { try { await fn(); overlay.remove(); } catch (e) { modal("That did not work", e.message); } };
    document.body.append(overlay);
  }

  async function loadOlder() {
    const first = messages()[0];
    const page = await api.get(`/api/v1/conversations/${id}/messages?limit=50${first ? `&before=${first.seq}` : ""}`);
    state.putMessages(id, page.messages);
    state.hasOlder.set(id, page.has_more);
    const height = list.scrollHeight;
    renderMessages();
    list.scrollTop = list.scrollHeight - height;
  }

  function markRead() {
    const c = conversation();
    const last = messages().at(-1);
    if (!c || !last || document.hidden) return;
    const mine = c.members.find((m) => m.user.id === state.me.id);
    if (mine && mine.read_seq < last.seq) connection.notify("read", { conversation_id: id, seq: last.seq });
    if (c.unread_count) { c.unread_count = 0; state.changed("conversations"); }
  }

  function renderTyping() {
    const now = Date.now();
    const typing = [...(state.typing.get(id)?.entries() || [])].filter(([, until]) => until > now).map(([u]) => state.userName(u));
    typingLine.textContent = typing.length ? `${typing.join(", ")} ${typing.length > 1 ? "are" : "is"} typing…` : "";
  }

  // Mentions: suggest members after "@".
  let lastTyping = 0;
  input.addEventListener("input", () => {
    if (Date.now() - lastTyping > 2500) { lastTyping = Date.now(); connection.notify("typing", { conversation_id: id }); }
    const match = /@([a-z0-9_.-]*)$/i.exec(input.value.slice(0, input.selectionStart));
    const c = conversation();
    if (!match || !c) return suggestions.classList.add("hidden");
    const prefix = match[1].toLowerCase();
    const options = c.members.filter((m) => m.user.id !== state.me.id && m.user.username.startsWith(prefix)).slice(0, 5);
    clear(suggestions, options.map((m) => h("li", h("button.link", { type: "button", role: "option", on: { click: () => {
      const before = input.value.slice(0, input.selectionStart).replace(/@[a-z0-9_.-]*$/i, `@${m.user.username} `);
      input.value = before + input.value.slice(input.selectionStart);
      suggestions.classList.add("hidden");
      input.focus();
    } } }, `@${m.user.username}`, h("small", ` ${m.user.display_name}`)))));
    suggestions.classList.toggle("hidden", options.length === 0);
  });
  // History loads as the reader scrolls up.
  let loading = false;
  list.addEventListener("scroll", async () => {
    if (list.scrollTop < 60 && state.hasOlder.get(id) && !loading) {
      loading = true;
      try { await loadOlder(); } finally { loading = false; }
    }
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(); }
    if (e.key === "Escape") cancelReply();
  });

  const onChange = (e) => {
    if (disposed || state.current !== id) { state.removeEventListener("change", onChange); disposed = true; return; }
    const { what, conversation: about } = e.detail;
    if ((what === "messages" || what === "outbox") && (!about || about === id)) { renderMessages(); markRead(); }
    if (what === "receipts" && about === id) renderMessages();
    if (what === "typing" && about === id) renderTyping();
    if (what === "header" || what === "presence" || what === "conversations") renderHeader();
    // Member names in group events may arrive with the conversation update after the event.
    if (what === "header") renderMessages();
  };
  state.addEventListener("change", onChange);
  const typingTimer = setInterval(() => { if (state.current !== id) clearInterval(typingTimer); else renderTyping(); }, 1000);
  document.addEventListener("visibilitychange", markRead);

  renderHeader();
  if (!state.messages.has(id)) loadOlder().then(markRead).catch(() => {});
  else { renderMessages(); list.scrollTop = list.scrollHeight; markRead(); }
  input.focus();
}
