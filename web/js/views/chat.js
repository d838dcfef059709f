// One conversation: its messages (older ones load on scroll), the composer (Enter sends,
// replies, @mentions with autocomplete), reactions, edits, deletions, invitations, typing and
// read receipts, and group management for owners and admins.

import { clear, confirmLeave, dialog, h, modal, name, timeOf } from "../dom.js";
import { plainText, renderBody } from "../markdown.js";
import { pickEmoji } from "./emoji.js";
import { pickUser } from "./pick.js";
import { profileCard } from "./people.js";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "🏓"];
/** The server's default `limits.max_message_chars`; it refuses longer bodies (message_too_long). */
export const MAX_MESSAGE_CHARS = 4000;

/** Opens conversation `id` in `main`; returns a dispose that removes every listener and timer it
 * added (the caller disposes before opening another one). */
export function showChat(main, ctx, id, onBack) {
  const { api, state, connection } = ctx;
  let replyTo = null;
  let gone = false;
  let suggestion = -1; // the highlighted mention option
  const header = h("header.chat-header");
  const list = h("ol.messages", { "aria-label": "Messages", tabindex: "0" });
  const typingLine = h("p.typing", { "aria-live": "polite" });
  const replyBox = h("div.reply-preview.hidden");
  const suggestions = h("ul.suggestions.hidden", { role: "listbox", id: `suggest-${id}`, "aria-label": "Mention suggestions" });
  // No maxlength: it would cut a long paste silently. The counter says when it is too long.
  const input = h("textarea", { rows: 1, placeholder: "Write a message", "aria-label": "Message", "aria-controls": suggestions.id, "aria-autocomplete": "list" });
  const lengthNote = h("p.length-note.hidden", { role: "status" });
  const sendButton = h("button", { type: "submit" }, "Send");
  const composer = h("form.composer", { on: { submit: (e) => { e.preventDefault(); send(); } } },
    replyBox, suggestions, lengthNote,
    h("div.row", input,
      h("button.icon", { type: "button", title: "Invite to an activity", "aria-label": "Invite to an activity", on: { click: invite } }, "🎮"),
      sendButton));
  clear(main, header, list, typingLine, composer);

  const conversation = () => state.conversations.get(id);
  const messages = () => [...(state.messages.get(id)?.values() || [])].sort((a, b) => a.seq - b.seq);
  const myRole = () => conversation()?.members.find((m) => m.user.id === state.me.id)?.role;

  function renderHeader() {
    const c = conversation();
    if (!c) return clear(header, h("button.icon.back", { type: "button", "aria-label": "Back", on: { click: onBack } }, "←"), h("div.title", h("h2", "This conversation is gone")));
    const other = state.otherMember(c);
    const presence = other ? state.presence.get(other.id) : null;
    clear(header,
      h("button.icon.back", { type: "button", "aria-label": "Back", on: { click: onBack } }, "←"),
      h("div.title",
        h("h2", other ? h("button.link", { type: "button", on: { click: () => profileCard(ctx, other) } }, name(state.title(c))) : name(state.title(c))),
        h("p.muted", c.kind === "group" ? [`${c.member_count} members`, c.topic ? [" · ", h("bdi", c.topic)] : null] : presence ? [presence.status, presence.status_text ? [" · ", h("bdi", presence.status_text)] : null] : "")),
      c.kind === "group" ? h("button.secondary", { type: "button", on: { click: manageGroup } }, "Members") : null);
  }

  function renderMessages() {
    if (gone) return;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const shown = messages();
    const items = shown.map(messageItem);
    // A queued message whose copy already arrived (the event comes before the ack) shows once.
    const arrived = new Set(shown.filter((m) => m.sender_id === state.me.id && m.client_id).map((m) => m.client_id));
    for (const item of connection.outbox.filter((o) => o.conversation_id === id && !arrived.has(o.client_id))) {
      items.push(h("li.message.mine.pending", h("div.body", renderBody(item.body)), h("small.muted", "sending…")));
    }
    for (const item of connection.failed.filter((f) => f.conversation_id === id)) items.push(failedItem(item));
    const seen = seenLine();
    clear(list, state.hasOlder.get(id) ? h("li.more", h("button.link", { type: "button", on: { click: loadOlder } }, "Load earlier messages")) : null, items, seen);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function seenLine() {
    const c = conversation();
    const mine = messages().filter((m) => m.sender_id === state.me.id);
    const last = mine[mine.length - 1];
    if (!c || !last) return null;
    const readers = c.members.filter((m) => m.user.id !== state.me.id && m.read_seq >= last.seq).map((m) => name(m.user.display_name));
    return readers.length ? h("li.seen", "Seen by ", joined(readers)) : null;
  }

  /** A message the server refused: shown with its reason, to send again or discard. */
  function failedItem(item) {
    const reason = REFUSALS[item.error.code] || item.error.message;
    return h("li.message.mine.failed", { dataset: { clientId: item.client_id } },
      h("p.body", { dir: "auto" }, item.body),
      h("p.error", { role: "alert" }, `Not sent: ${reason}`),
      h("div.actions",
        h("button.link", { type: "button", on: { click: () => connection.retry(item.client_id) } }, "Retry"),
        h("button.link", { type: "button", on: { click: () => connection.discard(item.client_id) } }, "Delete")));
  }

  function messageItem(m) {
    if (m.kind === "system") return h("li.system", { dataset: { seq: m.seq } }, describeSystem(m));
    const mine = m.sender_id === state.me.id;
    const body = m.deleted_at ? h("p.body.deleted", "Message deleted")
      : m.collapsed ? h("p.body.deleted", "Message from a user you blocked")
      : m.kind === "invitation" ? invitationCard(m)
      : h("div.body", renderBody(m.body, { mentions: mentionedNames(m), me: state.me.username }));
    const quote = m.reply ? h("button.quote", { type: "button", on: { click: () => jumpTo(m.reply.message_id) } },
      h("strong", name(state.userName(m.reply.sender_id))), " ", m.reply.deleted ? "(deleted)" : h("bdi", plainText(m.reply.excerpt))) : null;
    const reactions = m.reactions?.length ? h("div.reactions", m.reactions.map((r) =>
      h("button.reaction", { type: "button", "aria-pressed": String(r.users.includes(state.me.id)), on: { click: () => react(m, r.emoji, !r.users.includes(state.me.id)) } }, `${r.emoji} ${r.count}`))) : null;
    const actions = m.deleted_at || m.collapsed ? null : h("div.actions",
      h("button.link", { type: "button", on: { click: () => startReply(m) } }, "Reply"),
      QUICK_REACTIONS.map((e) => h("button.link", { type: "button", "aria-label": `React ${e}`, on: { click: () => react(m, e, true) } }, e)),
      h("button.link", { type: "button", "aria-label": "Add a reaction", title: "Add a reaction", on: { click: (e) => pickEmoji(e.currentTarget).then((emoji) => emoji && react(m, emoji, true)) } }, "+"),
      mine && m.kind === "text" ? h("button.link", { type: "button", on: { click: () => edit(m) } }, "Edit") : null,
      mine || ["owner", "admin"].includes(myRole()) ? h("button.link", { type: "button", on: { click: () => remove(m) } }, "Delete") : null);
    return h("li.message", { class: `message${mine ? " mine" : ""}`, dataset: { seq: m.seq, id: m.id } },
      h("div.meta", h("button.link.author", { type: "button", on: { click: () => openProfile(m.sender_id) } }, name(state.userName(m.sender_id))), " ",
        h("time", { datetime: m.created_at }, timeOf(m.created_at)), m.edited_at ? h("small.muted", " (edited)") : null),
      quote, body, reactions, actions);
  }

  /** The usernames behind a message's `mentions` (user ids), for renderBody to highlight. */
  function mentionedNames(m) {
    return (m.mentions || []).map((userId) => conversation()?.members.find((x) => x.user.id === userId)?.user.username || state.users.get(userId)?.username).filter(Boolean);
  }

  function invitationCard(m) {
    const inv = m.invitation;
    const mine = m.sender_id === state.me.id;
    const forMe = !mine && (!inv.invitee || inv.invitee === state.me.id);
    const act = (verb) => h("button", { type: "button", on: { click: () => api.post(`/api/v1/conversations/${id}/invitations/${m.id}/${verb}`).catch((e) => modal("Invitation", e.message)) } }, verb[0].toUpperCase() + verb.slice(1));
    const join = inv.result?.join_url && /^https?:\/\//.test(inv.result.join_url) ? h("button", { type: "button", on: { click: () => confirmLeave(inv.result.join_url) } }, "Join") : null;
    return h("div.invitation", { "data-state": inv.state },
      h("p", h("strong", name(state.userName(m.sender_id))), " invites ", inv.invitee ? name(state.userName(inv.invitee)) : "you all", " to ", h("bdi", inv.label)),
      h("p.muted", inv.state + (inv.reason ? ` — ${inv.reason}` : "")),
      inv.state === "pending" ? h("div.row", forMe ? [act("accept"), act("decline")] : null, mine ? act("cancel") : null) : null,
      join);
  }

  function describeSystem(m) {
    const who = name(state.userName(m.sender_id));
    const s = m.system || {};
    const user = (u) => name(state.userName(u));
    const names = (ids) => joined(ids.map(user));
    switch (s.action) {
      case "group_created": return [who, " created the group “", name(s.name), "”"];
      case "renamed": return [who, " renamed the group to “", name(s.to), "”"];
      case "topic_changed": return s.topic ? [who, " set the topic: ", h("bdi", s.topic)] : [who, " cleared the topic"];
      case "avatar_changed": return [who, " changed the group picture"];
      case "members_added": return [who, " added ", names(s.users)];
      case "member_removed": return [who, " removed ", user(s.user)];
      case "member_left": return [who, " left"];
      case "role_changed": return [who, " made ", user(s.user), ` ${s.role}`];
      case "ownership_transferred": return [who, " handed the group over to ", user(s.to)];
      case "message_pinned": return [who, " pinned a message"];
      case "message_unpinned": return [who, " unpinned a message"];
      default: return [who, " changed the group"];
    }
  }

  function openProfile(userId) {
    const user = conversation()?.members.find((m) => m.user.id === userId)?.user || state.users.get(userId);
    if (user) profileCard(ctx, user);
  }

  function jumpTo(messageId) {
    const el = list.querySelector(`[data-id="${CSS.escape(messageId)}"]`);
    if (el) { el.scrollIntoView({ block: "center" }); el.classList.add("flash"); setTimeout(() => el.classList.remove("flash"), 1200); }
  }

  function startReply(m) {
    replyTo = m;
    clear(replyBox, "Replying to ", h("strong", name(state.userName(m.sender_id))), ": ", h("bdi", [...plainText(m.body)].slice(0, 80).join("")),
      h("button.link", { type: "button", "aria-label": "Cancel reply", on: { click: cancelReply } }, "✕"));
    replyBox.classList.remove("hidden");
    input.focus();
  }

  function cancelReply() {
    replyTo = null;
    replyBox.classList.add("hidden");
  }

  /** Over the limit: said next to the composer, and Send waits (nothing is cut). */
  function checkLength() {
    const over = [...input.value].length - MAX_MESSAGE_CHARS;
    lengthNote.textContent = over > 0 ? `Too long to send: ${over.toLocaleString()} ${over === 1 ? "character" : "characters"} over the limit of ${MAX_MESSAGE_CHARS.toLocaleString()}.` : "";
    lengthNote.classList.toggle("hidden", over <= 0);
    sendButton.disabled = over > 0;
    return over <= 0;
  }

  async function send() {
    if (gone) return;
    const body = input.value;
    if (!body.trim() || !checkLength()) return;
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
    const ok = await dialog({ title: "Edit message", body: [field], focus: field,
      actions: [{ label: "Cancel", value: false, class: "secondary" }, { label: "Save", value: true }] }).closed;
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

  function manageGroup() {
    const c = conversation();
    const role = myRole();
    const manager = ["owner", "admin"].includes(role);
    let box = null;
    const act = async (fn) => { try { await fn(); box.close(); } catch (e) { modal("That did not work", e.message); } };
    const rows = c.members.map((m) => h("li",
      h("button.link", { type: "button", on: { click: () => profileCard(ctx, m.user) } }, name(m.user.display_name)), ` (${m.role})`,
      role === "owner" && m.user.id !== state.me.id ? h("button.link", { type: "button", on: { click: () => act(() => api.patch(`/api/v1/conversations/${id}/members/${m.user.id}`, { role: m.role === "admin" ? "member" : "admin" })) } }, m.role === "admin" ? "Demote" : "Make admin") : null,
      (role === "owner" || (role === "admin" && m.role === "member")) && m.user.id !== state.me.id ? h("button.link", { type: "button", on: { click: () => act(() => api.del(`/api/v1/conversations/${id}/members/${m.user.id}`)) } }, "Remove") : null));
    const groupName = h("input", { "aria-label": "Group name", value: c.name, maxlength: 100 });
    const actions = [];
    if (manager) actions.push({ label: "Add member", class: "secondary", close: false, onClick: async () => { const u = await pickUser(ctx, "Add a member"); if (u) act(() => api.post(`/api/v1/conversations/${id}/members`, { members: [u.id] })); } });
    if (role !== "owner") actions.push({ label: "Leave", class: "danger", close: false, onClick: () => act(() => api.del(`/api/v1/conversations/${id}/members/${state.me.id}`)) });
    actions.push({ label: "Close", value: null });
    box = dialog({ title: "Members", wide: true, actions, body: [h("ul.members", rows),
      manager ? h("div.row", groupName, h("button.secondary", { type: "button", on: { click: () => act(() => api.patch(`/api/v1/conversations/${id}`, { name: groupName.value })) } }, "Rename")) : null] });
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
    if (gone) return;
    const now = Date.now();
    const typing = [...(state.typing.get(id)?.entries() || [])].filter(([, until]) => until > now).map(([u]) => name(state.userName(u)));
    clear(typingLine, typing.length ? [joined(typing), typing.length > 1 ? " are typing…" : " is typing…"] : null);
  }

  // Mentions: suggest members after "@"; arrows move, Enter or Tab takes one, Escape closes.
  let lastTyping = 0;
  const mentionOptions = () => [...suggestions.querySelectorAll("[role=option]")];
  const closeSuggestions = () => { suggestions.classList.add("hidden"); suggestion = -1; input.removeAttribute("aria-activedescendant"); };
  const highlight = (i) => {
    const options = mentionOptions();
    suggestion = (i + options.length) % options.length;
    options.forEach((o, k) => o.setAttribute("aria-selected", String(k === suggestion)));
    input.setAttribute("aria-activedescendant", options[suggestion].id);
  };
  const choose = (username) => {
    const before = input.value.slice(0, input.selectionStart).replace(/@[a-z0-9_.-]*$/i, `@${username} `);
    input.value = before + input.value.slice(input.selectionStart);
    input.setSelectionRange(before.length, before.length);
    closeSuggestions();
    input.focus();
  };
  input.addEventListener("input", () => {
    checkLength();
    if (Date.now() - lastTyping > 2500) { lastTyping = Date.now(); connection.notify("typing", { conversation_id: id }); }
    const match = /@([a-z0-9_.-]*)$/i.exec(input.value.slice(0, input.selectionStart));
    const c = conversation();
    if (!match || !c) return closeSuggestions();
    const prefix = match[1].toLowerCase();
    const options = c.members.filter((m) => m.user.id !== state.me.id && m.user.username.startsWith(prefix)).slice(0, 5);
    clear(suggestions, options.map((m, k) => h("li", { role: "option", id: `${suggestions.id}-${k}`, "aria-selected": "false", on: { mousedown: (e) => e.preventDefault(), click: () => choose(m.user.username) } },
      `@${m.user.username}`, h("small", " ", name(m.user.display_name)))));
    // Nothing left to complete (the name is typed out): Enter sends.
    if (!options.length || (options.length === 1 && options[0].user.username === prefix)) return closeSuggestions();
    suggestions.classList.remove("hidden");
    highlight(0);
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
    if (e.isComposing) return;
    const open = !suggestions.classList.contains("hidden") && suggestion >= 0;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) { e.preventDefault(); highlight(suggestion + (e.key === "ArrowDown" ? 1 : -1)); return; }
    if (open && (e.key === "Enter" || e.key === "Tab") && !e.shiftKey) { e.preventDefault(); mentionOptions()[suggestion].click(); return; }
    if (open && e.key === "Escape") { e.preventDefault(); closeSuggestions(); return; }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
    if (e.key === "Escape") cancelReply();
  });

  /** Removed from the conversation (or it was deleted): it stays on screen, read-only, so that
   * what was being read does not vanish, and nothing can be sent to it any more. */
  function showGone() {
    gone = true;
    closeSuggestions();
    renderHeader();
    clear(composer, h("p.muted.gone", { role: "status" }, "You are no longer a member of this conversation."));
    clear(typingLine);
    for (const button of list.querySelectorAll(".actions button, .invitation button, .more button")) button.disabled = true;
  }

  const onChange = (e) => {
    const { what, conversation: about } = e.detail;
    if (what === "removed" && about === id) return showGone();
    if (gone) return;
    if ((what === "messages" || what === "outbox") && (!about || about === id)) { renderMessages(); markRead(); }
    if (what === "receipts" && about === id) renderMessages();
    if (what === "typing" && about === id) renderTyping();
    if (what === "header" || what === "presence" || what === "conversations") renderHeader();
    // Member names in group events may arrive with the conversation update after the event.
    if (what === "header" || what === "names") renderMessages();
    if (what === "reload") loadOlder().then(markRead).catch(() => {});
  };
  state.addEventListener("change", onChange);
  const typingTimer = setInterval(renderTyping, 1000);
  document.addEventListener("visibilitychange", markRead);

  renderHeader();
  if (!state.messages.has(id)) loadOlder().then(markRead).catch(() => {});
  else { renderMessages(); list.scrollTop = list.scrollHeight; markRead(); }
  if (!conversation()) showGone();
  input.focus();

  return () => {
    state.removeEventListener("change", onChange);
    clearInterval(typingTimer);
    document.removeEventListener("visibilitychange", markRead);
  };
}

const REFUSALS = {
  blocked: "you cannot message this person",
  not_a_member: "you are not a member of this conversation",
  message_too_long: `longer than the limit of ${MAX_MESSAGE_CHARS.toLocaleString()} characters`,
  empty_message: "the message is empty",
  rate_limited: "too many messages — wait a moment, then retry",
};

/** "a, b and c" with the names kept as nodes. */
function joined(parts) {
  return parts.flatMap((part, i) => (i === 0 ? [part] : [i === parts.length - 1 ? " and " : ", ", part]));
}
