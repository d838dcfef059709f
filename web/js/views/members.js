// The Members dialog of a group: who is in it and with what role, and what owners and admins
// can do about it (add, promote, remove, rename); anyone can leave.

import { dialog, h, modal, name } from "../dom.js";
import { pickUser } from "./pick.js";
import { profileCard } from "./people.js";

export function showMembers(ctx, id) {
  const { api, state } = ctx;
  const c = state.conversations.get(id);
  if (!c) return;
  const role = c.members.find((m) => m.user.id === state.me.id)?.role;
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
