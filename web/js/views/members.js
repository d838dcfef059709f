// A conversation's settings from its header: the notification level of any conversation, its
// link previews and theme (views/settings.js), and a group's Members dialog — who is in it and with what role, and what owners and admins can do
// (add several people at once, edit name, topic and picture, promote, transfer ownership, remove,
// read the change history, delete the group); anyone can leave. Everything that cannot be undone
// asks first.

import { avatar, botBadge, clear, dialog, h, modal, name, timeOf, userAvatar } from "../dom.js";
import { chooseNotificationLevel } from "./notify.js";
import { pickUsers } from "./pick.js";
import { pictureChooser } from "./picture.js";
import { profileCard } from "./people.js";
import { showSettings } from "./settings.js";

const LEVEL_TEXT = { all: "All messages", mentions: "Mentions only", none: "Muted" };
const ROLE_TEXT = { owner: "Owner", admin: "Admin", member: "Member" };

/** The buttons at the end of a conversation's header. */
export function headerActions(ctx, id) {
  const c = ctx.state.conversations.get(id);
  if (!c) return null;
  const level = c.notification_level || "all";
  return [
    h("button.icon.level", { type: "button", "aria-label": `Notification level: ${LEVEL_TEXT[level]}`, title: `Notification level: ${LEVEL_TEXT[level]}`, "data-level": level,
      on: { click: () => chooseNotificationLevel(ctx, id) } }, level === "none" ? "🔕" : "🔔"),
    h("button.icon", { type: "button", "aria-label": "Conversation settings", title: "Conversation settings", "aria-haspopup": "dialog", on: { click: () => showSettings(ctx, id) } }, "⚙\uFE0E"),
    c.kind === "group" ? h("button.secondary", { type: "button", on: { click: () => showMembers(ctx, id) } }, "Members") : null,
  ];
}

export function showMembers(ctx, id) {
  const { api, state } = ctx;
  const c = state.conversations.get(id);
  if (!c) return;
  const me = state.me.id;
  const role = c.members.find((m) => m.user.id === me)?.role;
  const manager = ["owner", "admin"].includes(role);
  const error = h("p.error", { role: "alert" });
  let box = null;
  // Each action closes the dialog when done; the conversation update redraws the header.
  const act = async (fn) => {
    error.textContent = "";
    try { await fn(); box.close(); } catch (e) { error.textContent = e.message; }
  };
  const confirmThen = async (title, text, label, fn) => { if (await modal(title, text, label, { danger: true })) act(fn); };

  const memberRow = (m) => {
    const them = m.user;
    const self = them.id === me;
    const buttons = [];
    if (!self && role === "owner") {
      buttons.push(h("button.link", { type: "button", on: { click: () => act(() => api.patch(`/api/v1/conversations/${id}/members/${them.id}`, { role: m.role === "admin" ? "member" : "admin" })) } }, m.role === "admin" ? "Demote" : "Make admin"));
      buttons.push(h("button.link", { type: "button", on: { click: () => confirmThen("Make them the owner?", `${them.display_name} becomes the owner of this group; you become an admin. Only they can give it back.`, "Transfer ownership",
        () => api.patch(`/api/v1/conversations/${id}/members/${them.id}`, { role: "owner" })) } }, "Make owner"));
    }
    if (!self && (role === "owner" || (role === "admin" && m.role === "member"))) {
      buttons.push(h("button.link.danger", { type: "button", on: { click: () => confirmThen("Remove from the group?", `${them.display_name} will no longer see this group or its messages.`, "Remove",
        () => api.del(`/api/v1/conversations/${id}/members/${them.id}`)) } }, "Remove"));
    }
    return h("li.person", userAvatar(them, { presence: state.presence.get(them.id)?.status }),
      h("span.who",
        h("button.link", { type: "button", on: { click: () => profileCard(ctx, them) } }, name(them.display_name), botBadge(them), self ? " (you)" : ""),
        h("small", ` ${ROLE_TEXT[m.role] || m.role}`)),
      buttons.length ? h("span.row-actions", buttons) : null);
  };
  const order = { owner: 0, admin: 1, member: 2 };
  const members = [...c.members].sort((a, b) => order[a.role] - order[b.role] || a.user.display_name.localeCompare(b.user.display_name));

  const details = manager ? detailsForm(ctx, c, act) : null;
  const actions = [];
  if (manager) actions.push({ label: "Add members", class: "secondary", close: false, onClick: async () => {
    const users = await pickUsers(ctx, "Add members", { exclude: new Set(c.members.map((m) => m.user.id)) });
    if (users?.length) act(() => api.post(`/api/v1/conversations/${id}/members`, { members: users.map((u) => u.id) }));
  } });
  if (manager) actions.push({ label: "History", class: "secondary", close: false, onClick: () => showHistory(ctx, id) });
  if (role === "owner") actions.push({ label: "Delete group", class: "danger", close: false, onClick: () => confirmThen("Delete this group?", "The group and all its messages are deleted for everyone. This cannot be undone.", "Delete group",
    () => api.del(`/api/v1/conversations/${id}`)) });
  if (role === "owner") actions.push({ label: "Leave", class: "danger", close: false, onClick: () => { error.textContent = "You own this group: make someone else the owner first, then leave."; } });
  else actions.push({ label: "Leave", class: "danger", close: false, onClick: () => confirmThen("Leave this group?", "You will no longer see its messages unless someone adds you again.", "Leave",
    () => api.del(`/api/v1/conversations/${id}/members/${me}`)) });
  actions.push({ label: "Close", value: null });
  box = dialog({ title: "Members", wide: true, actions, className: "members-dialog",
    body: [details, h("h3", `${c.members.length} ${c.members.length === 1 ? "member" : "members"}`), h("ul.people", members.map(memberRow)), error] });
  return box;
}

/** Picture, name, topic and avatar URL; only what changed is sent. */
function detailsForm(ctx, c, act) {
  const { api, state } = ctx;
  const field = (label, value, attrs) => {
    const input = h(attrs.rows ? "textarea" : "input", { value: value || "", ...attrs });
    return [h("label", label, input), input];
  };
  // The picture changes at once (the dialog stays open); the group's update redraws the rest.
  const changedGroup = (updated) => {
    state.setConversation(updated);
    state.changed("conversations");
    state.changed("header");
  };
  const current = () => state.conversations.get(c.id) || c;
  const chooser = pictureChooser(ctx, {
    draw: () => avatar(current().name, c.id, { size: "large", url: current().avatar_url }),
    has: () => !!current().avatar_url,
    apply: async (upload_id) => changedGroup(await api.put(`/api/v1/conversations/${c.id}/avatar`, { upload_id })),
    remove: async () => changedGroup(await api.del(`/api/v1/conversations/${c.id}/avatar`)),
  });
  // An uploaded picture has a URL of the server's own: the field is for a link to one elsewhere.
  const linked = /^https?:\/\//i.test(c.avatar_url || "") && !/\/api\/v1\/avatars\//.test(c.avatar_url) ? c.avatar_url : "";
  const [nameLabel, groupName] = field("Group name", c.name, { maxlength: 100, required: true });
  const [topicLabel, topic] = field("Topic", c.topic, { maxlength: 500, rows: 2 });
  const [avatarLabel, avatarUrl] = field("Avatar URL", linked, { type: "url", maxlength: 2048, placeholder: "https://…" });
  const save = () => {
    const changes = {};
    if (groupName.value.trim() !== c.name) changes.name = groupName.value.trim();
    if (topic.value.trim() !== (c.topic || "")) changes.topic = topic.value.trim();
    if (avatarUrl.value.trim() !== linked) changes.avatar_url = avatarUrl.value.trim();
    if (!Object.keys(changes).length) return;
    act(() => api.patch(`/api/v1/conversations/${c.id}`, changes));
  };
  return h("form.details", { on: { submit: (e) => { e.preventDefault(); save(); } } },
    h("div.me-card", chooser.picture, chooser.controls),
    nameLabel, topicLabel, avatarLabel,
    h("div.actions", h("button", { type: "submit" }, "Save details")));
}

/** What happened to the group, newest first, in words. */
export async function showHistory(ctx, id) {
  const { api, state } = ctx;
  const list = h("ol.history", { "aria-label": "Change history" }, h("li.muted", "Loading…"));
  dialog({ title: "Group history", wide: true, body: [list] });
  try {
    const { entries } = await api.get(`/api/v1/conversations/${id}/audit`);
    const who = (uid) => name(state.userName(uid));
    const users = (d) => (d?.users || (d?.user ? [d.user] : [])).map((u) => who(u)).flatMap((n, i) => (i ? [", ", n] : [n]));
    const say = (e) => {
      const d = e.detail || {};
      switch (e.action) {
        case "group_created": return ["created the group ", h("bdi", d.name || "")];
        case "renamed": return ["renamed it from ", h("bdi", d.from || ""), " to ", h("bdi", d.to || "")];
        case "topic_changed": return d.topic ? ["set the topic to ", h("bdi", d.topic)] : ["cleared the topic"];
        case "avatar_changed": return d.avatar_url ? ["changed the avatar"] : ["removed the avatar"];
        case "members_added": return ["added ", ...users(d)];
        case "member_removed": return ["removed ", ...users(d)];
        case "member_left": return ["left"];
        case "role_changed": return ["made ", ...users(d), ` ${d.role || ""}`];
        case "ownership_transferred": return ["handed the group over to ", who(d.to)];
        case "message_pinned": return ["pinned a message"];
        case "message_unpinned": return ["unpinned a message"];
        case "theme_changed": {
          const preset = d.theme?.preset && state.themes.find((t) => t.id === d.theme.preset)?.name;
          return !d.theme ? ["removed the theme"] : preset ? ["changed the theme to ", h("bdi", preset)] : ["set a custom theme"];
        }
        default: return [e.action.replaceAll("_", " ")];
      }
    };
    const sorted = [...entries].sort((a, b) => b.created_at.localeCompare(a.created_at));
    clear(list, sorted.length ? sorted.map((e) => h("li",
      h("time", { datetime: e.created_at }, `${new Date(e.created_at).toLocaleDateString()} ${timeOf(e.created_at)}`), " ",
      h("strong", e.actor_id ? who(e.actor_id) : "Confab"), " ", say(e))) : h("li.muted", "Nothing has changed yet."));
  } catch (e) {
    clear(list, h("li.error", e.message));
  }
}
