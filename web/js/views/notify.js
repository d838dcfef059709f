// Desktop notifications, asked for politely, and the per-conversation notification level.
//
// Nothing is asked on page load: the first time a message arrives that would notify, an in-app
// note offers them; only when the user says yes does the browser ask for permission (and "Not
// now" is remembered). The Me dialog has the same switch. While the tab is hidden, a message
// that notifies pops up; a click focuses the tab and opens the message's permalink.
//
// Which messages notify, per conversation level: `all` every message from someone else;
// `mentions` those that mention you or reply to you; `none` nothing. Never your own, never from
// people you muted (restricted) or blocked, never in do-not-disturb, never for old messages.

import { clear, dialog, h, name } from "../dom.js";
import { plainText } from "../markdown.js";
import { attachmentSummary } from "../files.js";
import { withTones } from "../tones.js";
import { stickerSummary } from "../stickers.js";
import { localStore } from "../storage.js";

const DECLINED = "confab.desktopNotifications.declined";
const FRESH_MS = 2 * 60 * 1000;

export const supported = () => "Notification" in window;
export const permission = () => (supported() ? Notification.permission : "unsupported");

/** Asks the browser, after the user said yes in the page. */
export async function enableDesktopNotifications() {
  if (!supported()) return "unsupported";
  localStore.removeItem(DECLINED);
  try { return await Notification.requestPermission(); } catch { return Notification.permission; }
}

export function desktopNotifications(ctx, notices) {
  const { state } = ctx;
  const seen = new Set(); // message ids that went past already
  let muted = new Set(); // restricted or blocked user ids
  const loadMuted = () => ctx.api.get("/api/v1/blocks").then((b) => {
    muted = new Set([...b.blocked, ...b.restricted].map((u) => u.id));
  }).catch(() => {});
  loadMuted();

  const wouldNotify = (m) => {
    if (!m || m.sender_id === state.me.id || seen.has(m.id)) return false;
    if (!["text", "invitation"].includes(m.kind) || m.deleted_at || m.collapsed) return false;
    if (Date.now() - new Date(m.created_at).getTime() > FRESH_MS || muted.has(m.sender_id)) return false;
    const c = state.conversations.get(m.conversation_id);
    const level = c?.notification_level || "all";
    if (level === "none") return false;
    if (level === "mentions") return (m.mentions || []).includes(state.me.id) || m.reply?.sender_id === state.me.id;
    return true;
  };

  const offer = () => {
    if (!supported() || Notification.permission !== "default" || localStore.getItem(DECLINED) || notices.querySelector(".notify-offer")) return;
    const note = h("div.notice.notify-offer", { role: "region", "aria-label": "Desktop notifications" },
      h("p", "Get a desktop notification when a message arrives while Confab is in the background?"),
      h("div.actions",
        h("button.secondary", { type: "button", on: { click: () => { localStore.setItem(DECLINED, "1"); note.remove(); } } }, "Not now"),
        h("button", { type: "button", on: { click: async () => { note.remove(); await enableDesktopNotifications(); } } }, "Turn on")));
    notices.append(note);
  };

  const pop = (m) => {
    const dnd = state.ownPresence?.status === "dnd";
    if (!document.hidden || dnd || permission() !== "granted") return;
    const c = state.conversations.get(m.conversation_id);
    const who = state.userName(m.sender_id);
    const where = c && c.kind === "group" ? `${who} in ${state.title(c)}` : who;
    const body = m.kind === "invitation" ? `Invitation: ${m.invitation?.label || ""}` : m.kind === "sticker" ? stickerSummary(m.sticker) : withTones(m.body, m.tones) || attachmentSummary(m.attachments);
    // The tag folds the mention notification and the message event of one message into one.
    const n = new Notification(where, { body: [...(body || "")].slice(0, 200).join(""), tag: `confab-${m.id}` });
    n.onclick = () => {
      window.focus();
      ctx.open(m.conversation_id, m.seq);
      n.close();
    };
  };

  const onChange = (e) => {
    const { what, message, created } = e.detail;
    if (what === "messages" && message) {
      const notify = wouldNotify(message);
      seen.add(message.id);
      if (!notify) return;
      offer();
      pop(message);
    }
    if (what === "notifications" && created && !created.silent && created.message_id && created.conversation_id) {
      // A mention or reply the message event did not pop (its level said mentions only, or it came first).
      const m = state.findMessage(created.conversation_id, created.message_id);
      if (m && !seen.has(`n-${m.id}`)) { seen.add(`n-${m.id}`); pop(m); }
    }
    if (what === "contacts-stale" || what === "reload") loadMuted();
  };
  state.addEventListener("change", onChange);
  return { dispose: () => state.removeEventListener("change", onChange) };
}

const LEVELS = [
  ["all", "All messages", "Every new message notifies you."],
  ["mentions", "Mentions and replies", "Only messages that mention you or reply to you."],
  ["none", "Nothing", "Muted: no notifications, and it does not count in the tab title."],
];

/** The notification level of one conversation, chosen in a small dialog from its header. */
export function chooseNotificationLevel(ctx, id) {
  const c = ctx.state.conversations.get(id);
  if (!c) return;
  const current = c.notification_level || "all";
  const error = h("p.error", { role: "alert" });
  const radios = LEVELS.map(([value, label, hint]) =>
    h("label.choice", h("input", { type: "radio", name: "level", value, checked: value === current }), h("span", h("strong", label), h("small", hint))));
  const box = dialog({
    title: "Notification level",
    body: [h("p.muted", "For ", name(ctx.state.title(c))), h("fieldset.choices", h("legend.visually-hidden", "Notification level"), radios), error],
    focus: radios.find((r) => r.querySelector("input").checked)?.querySelector("input"),
    actions: [
      { label: "Cancel", value: null, class: "secondary" },
      { label: "Save", close: false, onClick: async () => {
        const level = box.overlay.querySelector("input[name=level]:checked")?.value;
        try {
          const updated = await ctx.api.put(`/api/v1/conversations/${id}/notifications`, { level });
          const known = ctx.state.conversations.get(id);
          if (known) known.notification_level = updated.notification_level || level;
          ctx.state.changed("conversations");
          ctx.state.changed("header");
          box.close(level);
        } catch (e) {
          clear(error, e.message);
        }
      } },
    ],
  });
  return box.closed;
}
