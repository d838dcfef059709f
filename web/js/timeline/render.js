// Pieces of the timeline that depend on nothing but their arguments: avatars, day labels, the
// grouping rule, the sentence for a group event and the chips of tone indicators.

import { avatar as initialsAvatar, h, name } from "../dom.js";
import { meaning } from "../tones.js";

/** A message continues its author's run when it follows theirs within this time, the same day. */
export const GROUP_GAP_MS = 5 * 60 * 1000;

const dayOf = (iso) => { const d = new Date(iso); return d.getFullYear() * 10000 + d.getMonth() * 100 + d.getDate(); };
export const dayKey = dayOf;

/** "Today", "Yesterday", or the date ("Monday 30 November 2026"). */
export function dayLabel(iso, now = new Date()) {
  const day = dayOf(iso);
  if (day === dayOf(now.toISOString())) return "Today";
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (day === dayOf(yesterday.toISOString())) return "Yesterday";
  return new Date(iso).toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

/** Whether `m` is shown under `prev`'s name and avatar (same author, same day, close in time). */
export function continues(prev, m) {
  if (!prev || prev.kind !== "text" || m.kind !== "text" || prev.sender_id !== m.sender_id) return false;
  if (prev.collapsed !== m.collapsed) return false;
  if (dayOf(prev.created_at) !== dayOf(m.created_at)) return false;
  return Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_GAP_MS;
}

/** The same avatar as the sidebar's (dom.js: one colour per user everywhere, the picture over
 * the initials); `id` too, since the user may not be known yet. Decorative: the name is always
 * next to it. */
export function avatar(user, id) {
  return initialsAvatar(user?.display_name, id, { url: user?.avatar_url });
}

/** "a, b and c" with the names kept as nodes. */
export function joined(parts) {
  return parts.flatMap((part, i) => (i === 0 ? [part] : [i === parts.length - 1 ? " and " : ", ", part]));
}

/** A message's tone indicators as chips: `/j` to the eye, its meaning ("joking") as the tooltip
 * and to screen readers (a symbol that stands for a word, as an emoji does). `known` is the
 * server's list; a code it lacks is its own name. */
export function toneChips(tones, known = []) {
  if (!tones?.length) return null;
  // Spaces between them, so that copied text reads as typed ("/lh /j").
  return h("span.tones", tones.flatMap((code, i) => {
    const words = meaning(code, known);
    return [i ? " " : null, h("span.tone", { role: "img", "aria-label": words, title: words }, `/${code}`)];
  }));
}

/** What a group event (a `system` entry) says, with names isolated. `presetName(id)` names a
 * theme preset (null while the list is not known). */
export function describeSystem(m, userName, { presetName = () => null } = {}) {
  const user = (u) => name(userName(u));
  const who = user(m.sender_id);
  const s = m.system || {};
  switch (s.action) {
    case "group_created": return [who, " created the group “", name(s.name), "”"];
    case "renamed": return [who, " renamed the group to “", name(s.to), "”"];
    case "topic_changed": return s.topic ? [who, " set the topic: ", h("bdi", s.topic)] : [who, " cleared the topic"];
    case "avatar_changed": return [who, " changed the group picture"];
    case "members_added": return [who, " added ", joined((s.users || []).map(user))];
    case "member_removed": return [who, " removed ", user(s.user)];
    case "member_left": return [who, " left"];
    case "role_changed": return [who, " made ", user(s.user), ` ${s.role}`];
    case "ownership_transferred": return [who, " handed the group over to ", user(s.to)];
    case "message_pinned": return [who, " pinned a message"];
    case "message_unpinned": return [who, " unpinned a message"];
    case "theme_changed": {
      if (!s.theme) return [who, " removed the theme"];
      if (!s.theme.preset) return [who, " set a custom theme"];
      const preset = presetName(s.theme.preset);
      return preset ? [who, " changed the theme to ", name(preset)] : [who, " changed the theme"];
    }
    default: return [who, " changed the group"];
  }
}
