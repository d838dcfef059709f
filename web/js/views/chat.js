// One conversation: its header (picture, title, presence or members, pinned messages, settings),
// the timeline (timeline/view.js: paged, windowed history, grouped by author, with per-message
// actions), the composer (Enter sends, replies, @mentions with autocomplete, Up edits your last
// message, files attached, dropped or pasted — views/attach.js, tone indicators — views/tone.js,
// stickers and GIFs sent at once from their pickers — views/stickers.js, views/gifs.js),
// typing and read receipts, group management for owners and admins, and the conversation's theme
// painted on the whole view (js/themes.js) unless this device uses its own colours.
//
// For the router: `showChat(ctx, id, { seq, main, onBack })` opens conversation `id` (at message
// `seq` when given) in `main` (default `ctx.main`; Back calls `onBack`, default `ctx.closeChat`)
// and returns `{ dispose, jumpTo(seq), jumpToLatest(), jumpToUnread(), opened }`.
// `permalink(id, seq)` is a message's address.

import { avatar, botBadge, clear, dialog, h, modal, name } from "../dom.js";
import { plainText, renderBody } from "../markdown.js";
import { paintTheme, unpaintTheme, variantOf } from "../themes.js";
import { isDark, ownColours, watchTheme } from "../theme.js";
import { editText, MAX_TONES, wasLiteral, withTones } from "../tones.js";
import { createTimeline } from "../timeline/view.js";
import { joined } from "../timeline/render.js";
import { attachmentSummary } from "../files.js";
import { attachmentTray } from "./attach.js";
import { toneControls } from "./tone.js";
import { loadStickers, pickSticker } from "./stickers.js";
import { pickGif } from "./gifs.js";
import { stickerSummary } from "../stickers.js";
import { pickEmoji } from "./emoji.js";
import { headerActions } from "./members.js";
import { profileCard } from "./people.js";

/** The server's default `limits.max_message_chars`; it refuses longer bodies (message_too_long). */
export const MAX_MESSAGE_CHARS = 4000;

/** The address of message `seq` of conversation `id`: this page, `#/c/<id>/<seq>`. */
export function permalink(id, seq) {
  return `${location.href.split("#")[0]}#/c/${id}/${seq}`;
}

/** Opens conversation `id` (see the top of this file); `dispose` removes every listener and
 * timer it added (the caller disposes before opening another one). The older call
 * `showChat(main, ctx, id, onBack)` still works and returns the dispose function itself. */
export function showChat(ctx, id, options = {}) {
  if (ctx instanceof Node) {
    const [main, realCtx, realId, onBack] = arguments;
    const chat = openChat(realCtx, realId, { main, onBack });
    return Object.assign(() => chat.dispose(), chat);
  }
  return openChat(ctx, id, options);
}

function openChat(ctx, id, { seq = null, main = ctx.main, onBack = ctx.closeChat } = {}) {
  const { api, state, connection } = ctx;
  let replyTo = null;
  let gone = false;
  let suggestion = -1; // the highlighted mention option
  const conversation = () => state.conversations.get(id);
  const myRole = () => conversation()?.members.find((m) => m.user.id === state.me.id)?.role;
  const canManage = () => ["owner", "admin"].includes(myRole());

  const timeline = createTimeline(ctx, id, {
    reply: (m) => startReply(m),
    react: (m, emoji, add) => react(m, emoji, add),
    pickReaction: async (m, opener) => { const emoji = await pickEmoji(opener); if (emoji) react(m, emoji, true); },
    edit: (m) => edit(m),
    remove: (m) => remove(m),
    removePreviews: (m) => removePreviews(m),
    copyLink: (m) => copyLink(m),
    pin: (m, on) => pin(m, on),
    canPin: () => conversation()?.kind === "direct" || canManage(),
    canDelete: (m) => m.sender_id === state.me.id || (conversation()?.kind === "group" && canManage()),
    openProfile: (userId) => openProfile(userId),
    refusal: (error) => REFUSALS[error.code] || error.message,
  });

  const header = h("header.chat-header");
  const typingLine = h("p.typing", { "aria-live": "polite" });
  const replyBox = h("div.reply-preview.hidden");
  const toast = h("p.toast.hidden", { role: "status" });
  const suggestions = h("ul.suggestions.hidden", { role: "listbox", id: `suggest-${id}`, "aria-label": "Mention suggestions" });
  // No maxlength: it would cut a long paste silently. The counter says when it is too long.
  const input = h("textarea", { rows: 1, placeholder: "Write a message", "aria-label": "Message", "aria-controls": suggestions.id, "aria-autocomplete": "list", "aria-keyshortcuts": "ArrowUp" });
  const lengthNote = h("p.length-note.hidden", { role: "status" });
  const sendButton = h("button", { type: "submit" }, "Send");
  const tray = attachmentTray(ctx, { onChange: () => checkSendable() });
  const tone = toneControls(ctx, { input, onChange: () => checkSendable() });
  const stickerButton = h("button.icon.sticker-button", { type: "button", title: "Choose a sticker", "aria-label": "Choose a sticker", "aria-haspopup": "dialog", hidden: true, on: { click: () => chooseSticker() } }, "🐱");
  const gifButton = h("button.icon.gif-button", { type: "button", title: "Choose a GIF", "aria-label": "Choose a GIF", "aria-haspopup": "dialog", hidden: true, on: { click: () => chooseGif() } }, "GIF");
  const composer = h("form.composer", { on: { submit: (e) => { e.preventDefault(); send(); } } },
    replyBox, suggestions, tray.element, tone.tray, lengthNote, tone.hint,
    h("div.row", tray.button, input,
      // Beside the field on a wide screen, a row of their own under it on a phone (style.css).
      h("span.composer-tools", tone.button, stickerButton, gifButton,
        h("button.icon", { type: "button", title: "Invite to an activity", "aria-label": "Invite to an activity", on: { click: invite } }, "🎮")),
      sendButton));
  const dropZone = h("div.drop-zone", { hidden: true, "aria-hidden": "true" }, h("p", "Drop files to attach them"));
  clear(main, header, timeline.element, typingLine, toast, composer, dropZone);

  function renderHeader() {
    const c = conversation();
    if (!c) return clear(header, h("button.icon.back", { type: "button", "aria-label": "Back", on: { click: onBack } }, "←"), h("div.title", h("h2", "This conversation is gone")));
    const other = state.otherMember(c);
    const presence = other ? state.presence.get(other.id) : null;
    clear(header,
      h("button.icon.back", { type: "button", "aria-label": "Back", on: { click: onBack } }, "←"),
      avatar(state.title(c), other?.id || c.id, { url: other ? other.avatar_url : c.avatar_url }),
      h("div.title",
        h("h2", other ? h("button.link", { type: "button", on: { click: () => profileCard(ctx, other) } }, name(state.title(c))) : name(state.title(c))),
        h("p.muted", c.kind === "group" ? [`${c.member_count} members`, c.topic ? [" · ", h("bdi", c.topic)] : null] : presence ? [presence.status, presence.status_text ? [" · ", h("bdi", presence.status_text)] : null] : "")),
      h("button.icon", { type: "button", "aria-label": "Pinned messages", title: "Pinned messages", on: { click: showPins } }, "📌"),
      headerActions(ctx, id));
  }

  /** The conversation's colours on the whole view, in the variant of the app's light or dark;
   * none when it has no theme or this device uses its own colours. */
  function paint() {
    const palette = ownColours() ? null : variantOf(conversation()?.theme, isDark());
    if (!palette) return unpaintTheme(main);
    const danger = getComputedStyle(document.documentElement).getPropertyValue("--danger").trim();
    paintTheme(main, palette, { danger });
  }

  function openProfile(userId) {
    const user = conversation()?.members.find((m) => m.user.id === userId)?.user || state.users.get(userId);
    if (user) profileCard(ctx, user);
  }

  function startReply(m) {
    replyTo = m;
    clear(replyBox, "Replying to ", h("strong", name(state.userName(m.sender_id))), ": ", h("bdi", [...(m.kind === "sticker" ? stickerSummary(m.sticker) : withTones(plainText(m.body), m.tones) || attachmentSummary(m.attachments))].slice(0, 80).join("")),
      h("button.link", { type: "button", "aria-label": "Cancel reply", on: { click: cancelReply } }, "✕"));
    replyBox.classList.remove("hidden");
    input.focus();
  }

  function cancelReply() {
    replyTo = null;
    replyBox.classList.add("hidden");
  }

  /** Over the limit: said next to the composer, and Send waits (nothing is cut); so it does
   * while a file is still uploading or was refused. */
  function checkSendable() {
    const over = [...input.value].length - MAX_MESSAGE_CHARS;
    lengthNote.textContent = over > 0 ? `Too long to send: ${over.toLocaleString()} ${over === 1 ? "character" : "characters"} over the limit of ${MAX_MESSAGE_CHARS.toLocaleString()}.` : "";
    lengthNote.classList.toggle("hidden", over <= 0);
    const waiting = !tray.ready();
    const tooMany = tone.tooMany();
    sendButton.disabled = over > 0 || waiting || tooMany;
    sendButton.title = waiting ? "Sends once every file is uploaded" : tooMany ? "Too many tone indicators" : "";
    return over <= 0 && !waiting && !tooMany;
  }

  /** Stickers show when there are some to send, or for those who may make them; GIFs when the
   * server has a provider. */
  function renderPickers() {
    const stickers = state.stickers;
    stickerButton.hidden = !(stickers && (stickers.can_manage || stickers.packs.some((p) => p.stickers.some((st) => st.url))));
    gifButton.hidden = !state.gifs?.enabled;
  }

  /** A sticker goes at once, on its own (what is typed stays in the composer). */
  async function chooseSticker() {
    const sticker = await pickSticker(ctx, stickerButton);
    if (!sticker || gone) return;
    await sendNow({ sticker_id: sticker.id });
  }

  /** A GIF is imported by the server as an upload of yours, then sent as its attachment. */
  async function chooseGif() {
    const upload = await pickGif(ctx, gifButton);
    if (!upload || gone) return;
    await sendNow({ attachments: [upload.id] });
  }

  async function sendNow({ attachments = [], sticker_id = null }) {
    const reply = replyTo?.id;
    cancelReply();
    const sent = connection.send(id, "", reply, attachments, { sticker_id });
    await timeline.jumpToLatest();
    await sent;
  }

  async function send() {
    if (gone) return;
    const body = input.value;
    // With files, the text may be empty (not blank: the server takes "" or some text).
    if ((!body.trim() && !tray.count()) || !checkSendable()) return;
    const attachments = tray.ids();
    const expression = { tones: tone.tones(), literal: tone.literal() };
    input.value = "";
    tray.clear();
    tone.clear();
    const reply = replyTo?.id;
    cancelReply();
    suggestions.classList.add("hidden");
    // Sending reads the conversation: back to the latest, where the message appears.
    const sent = connection.send(id, body.trim() ? body : "", reply, attachments, expression);
    await timeline.jumpToLatest();
    await sent;
  }

  async function react(m, emoji, add) {
    try { await connection.request(add ? "reaction.add" : "reaction.remove", { conversation_id: id, message_id: m.id, emoji }); }
    catch (e) { if (e.code) modal("Reaction", e.message); }
  }

  /** The text with its tone indicators typed after it (` /j`), so that the server lifts them
   * back; a message sent with its indicators kept as text is edited that way too. */
  async function edit(m) {
    const before = editText(m);
    const startLiteral = wasLiteral(m, state.tones);
    const field = h("textarea", { rows: 3, "aria-label": "Edit message", value: before });
    const tones = toneControls(ctx, { input: field, menu: false, literal: startLiteral });
    field.addEventListener("input", () => tones.update());
    tones.update();
    const ok = await dialog({ title: "Edit message", body: [field, tones.hint], focus: field,
      actions: [{ label: "Cancel", value: false, class: "secondary" }, { label: "Save", value: true }] }).closed;
    const literal = tones.literal();
    if (ok && field.value.trim() && (field.value !== before || literal !== startLiteral)) {
      const data = { conversation_id: id, message_id: m.id, body: field.value };
      if (literal) data.literal = true;
      await connection.request("message.edit", data).catch((e) => modal("Edit", e.message));
    }
  }

  /** The author takes the link previews off a message, for everyone; they do not come back. */
  async function removePreviews(m) {
    const many = m.previews.length > 1;
    if (!(await modal(many ? "Remove the previews?" : "Remove the preview?", `${many ? "They are" : "It is"} removed for everyone and will not come back, even after an edit.`, "Remove"))) return;
    try {
      const updated = await api.del(`/api/v1/conversations/${id}/messages/${m.id}/previews`);
      if (updated) {
        state.putMessages(id, [updated]);
        timeline.update({ message: updated, change: "updated" });
      }
      say(many ? "Previews removed" : "Preview removed");
    } catch (e) {
      modal("Remove preview", e.message);
    }
  }

  async function remove(m) {
    if (await modal("Delete this message?", "It is deleted for everyone.", "Delete")) {
      await connection.request("message.delete", { conversation_id: id, message_id: m.id }).catch((e) => modal("Delete", e.message));
    }
  }

  async function pin(m, on) {
    try { await (on ? api.put : api.del)(`/api/v1/conversations/${id}/pins/${m.id}`); say(on ? "Message pinned" : "Message unpinned"); }
    catch (e) { modal(on ? "Pin" : "Unpin", e.message); }
  }

  let toastTimer = null;
  function say(text) {
    toast.textContent = text;
    toast.classList.remove("hidden");
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => toast.classList.add("hidden"), 2500);
  }

  async function copyLink(m) {
    const link = permalink(id, m.seq);
    try {
      await navigator.clipboard.writeText(link);
      say("Link copied");
    } catch {
      // No clipboard here (permissions, an insecure page): show it to copy by hand.
      const field = h("input", { "aria-label": "Link to the message", value: link, readonly: true });
      dialog({ title: "Link to the message", body: [field], focus: field });
      field.select();
    }
  }

  async function showPins() {
    let pins;
    try { pins = (await api.get(`/api/v1/conversations/${id}/pins`)).messages; }
    catch (e) { return modal("Pinned messages", e.message); }
    let box = null;
    const rows = pins.map((m) => h("li.pinned-item",
      h("div.meta", h("strong", name(state.userName(m.sender_id))), " ", h("time", { datetime: m.created_at }, new Date(m.created_at).toLocaleString())),
      m.kind === "sticker" ? h("p.body", stickerSummary(m.sticker)) : h("div.body", renderBody(m.body || "", { me: state.me.username })),
      h("div.row",
        h("button.secondary", { type: "button", on: { click: () => { box.close(); timeline.jumpTo(m.seq); } } }, "Jump"),
        conversation()?.kind === "direct" || canManage() ? h("button.secondary", { type: "button", on: { click: async () => { box.close(); await pin(m, false); } } }, "Unpin") : null)));
    box = dialog({ title: "Pinned messages", wide: true, body: [pins.length ? h("ul.pins", rows) : h("p.muted", "No pinned messages yet.")] });
  }

  async function invite() {
    const activity = state.activities[0];
    if (!activity) return modal("No activities", "This server has no activities to invite to.");
    await api.post(`/api/v1/conversations/${id}/invitations`, { activity: activity.id }).catch((e) => modal("Invitation", e.message));
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
    tone.update();
    checkSendable();
    if (Date.now() - lastTyping > 2500) { lastTyping = Date.now(); connection.notify("typing", { conversation_id: id }); }
    const match = /@([a-z0-9_.-]*)$/i.exec(input.value.slice(0, input.selectionStart));
    const c = conversation();
    if (!match || !c) return closeSuggestions();
    const prefix = match[1].toLowerCase();
    const options = c.members.filter((m) => m.user.id !== state.me.id && m.user.username.startsWith(prefix)).slice(0, 5);
    clear(suggestions, options.map((m, k) => h("li", { role: "option", id: `${suggestions.id}-${k}`, "aria-selected": "false", on: { mousedown: (e) => e.preventDefault(), click: () => choose(m.user.username) } },
      `@${m.user.username}`, h("small", " ", name(m.user.display_name)), botBadge(m.user))));
    // Nothing left to complete (the name is typed out): Enter sends.
    if (!options.length || (options.length === 1 && options[0].user.username === prefix)) return closeSuggestions();
    suggestions.classList.remove("hidden");
    highlight(0);
  });
  input.addEventListener("keydown", (e) => {
    if (e.isComposing) return;
    const open = !suggestions.classList.contains("hidden") && suggestion >= 0;
    if (open && (e.key === "ArrowDown" || e.key === "ArrowUp")) { e.preventDefault(); highlight(suggestion + (e.key === "ArrowDown" ? 1 : -1)); return; }
    if (open && (e.key === "Enter" || e.key === "Tab") && !e.shiftKey) { e.preventDefault(); mentionOptions()[suggestion].click(); return; }
    if (open && e.key === "Escape") { e.preventDefault(); closeSuggestions(); return; }
    // Up in an empty composer edits your last message (as in Slack, Discord and Element).
    if (e.key === "ArrowUp" && !input.value && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      const last = timeline.lastOwnEditable();
      if (last) { e.preventDefault(); edit(last); }
      return;
    }
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); send(); }
    if (e.key === "Escape") cancelReply();
  });
  // Files on the clipboard (a copied picture, a screenshot) are attached; text pasted with them
  // still goes in the message.
  input.addEventListener("paste", (e) => {
    const files = [...(e.clipboardData?.files || [])];
    if (!files.length || gone) return;
    if (!e.clipboardData.types.includes("text/plain")) e.preventDefault();
    tray.add(files);
  });

  // Files dragged over the conversation: it says where they go, and takes them when dropped.
  let dragDepth = 0;
  const carriesFiles = (e) => !gone && !!e.dataTransfer?.types.includes("Files");
  const dragEvents = {
    dragenter: (e) => { if (!carriesFiles(e)) return; e.preventDefault(); dragDepth += 1; dropZone.hidden = false; },
    dragover: (e) => { if (!carriesFiles(e)) return; e.preventDefault(); e.dataTransfer.dropEffect = "copy"; },
    dragleave: (e) => { if (!carriesFiles(e)) return; dragDepth = Math.max(0, dragDepth - 1); if (!dragDepth) dropZone.hidden = true; },
    drop: (e) => {
      if (!carriesFiles(e)) return;
      e.preventDefault();
      dragDepth = 0;
      dropZone.hidden = true;
      tray.add([...e.dataTransfer.files]);
      input.focus();
    },
  };
  for (const [type, fn] of Object.entries(dragEvents)) main.addEventListener(type, fn);

  /** Removed from the conversation (or it was deleted): it stays on screen, read-only, so that
   * what was being read does not vanish, and nothing can be sent to it any more. */
  function showGone() {
    gone = true;
    closeSuggestions();
    tray.dispose();
    renderHeader();
    clear(composer, h("p.muted.gone", { role: "status" }, "You are no longer a member of this conversation."));
    clear(typingLine);
    timeline.disable();
  }

  const onChange = (e) => {
    const { what, conversation: about } = e.detail;
    if (what === "removed" && about === id) return showGone();
    if (gone) return;
    if (what === "messages" && (!about || about === id)) timeline.update(e.detail);
    if (what === "outbox" || (what === "receipts" && about === id)) timeline.render();
    if (what === "typing" && about === id) renderTyping();
    if (what === "header" || what === "presence" || what === "conversations") renderHeader();
    // A new theme (conversation.updated, or this device's choice) repaints at once.
    if (what === "header" || what === "appearance") paint();
    if (what === "tones" || what === "themes") { tone.update(); timeline.redrawAll(); }
    if (what === "stickers" || what === "gifs") renderPickers();
    // Member names in group events may arrive with the conversation update after the event.
    if (what === "header" || what === "names") timeline.redrawAll();
    if (what === "reload") timeline.open().catch(() => {});
  };
  state.addEventListener("change", onChange);
  const typingTimer = setInterval(renderTyping, 1000);
  const stopWatchingTheme = watchTheme(paint);
  const onVisible = () => timeline.markRead();
  document.addEventListener("visibilitychange", onVisible);

  renderHeader();
  paint();
  tone.update();
  renderPickers();
  // Packs made since the app loaded show up here: read again when a conversation opens, at most
  // once a minute.
  if (Date.now() - (state.stickersReadAt || 0) > 60000) loadStickers(ctx).catch(() => {});
  const opened = timeline.open({ seq }).catch(() => {});
  if (!conversation()) showGone();
  input.focus();

  return {
    dispose() {
      state.removeEventListener("change", onChange);
      clearInterval(typingTimer);
      clearTimeout(toastTimer);
      stopWatchingTheme();
      unpaintTheme(main);
      document.removeEventListener("visibilitychange", onVisible);
      for (const [type, fn] of Object.entries(dragEvents)) main.removeEventListener(type, fn);
      tray.dispose();
      timeline.dispose();
    },
    opened,
    jumpTo: (target) => timeline.jumpTo(target),
    jumpToLatest: () => timeline.jumpToLatest(),
    jumpToUnread: () => timeline.jumpToUnread(),
  };
}

const REFUSALS = {
  blocked: "you cannot message this person",
  not_a_member: "you are not a member of this conversation",
  message_too_long: `longer than the limit of ${MAX_MESSAGE_CHARS.toLocaleString()} characters`,
  empty_message: "the message is empty",
  rate_limited: "too many messages — wait a moment, then retry",
  invalid_attachment: "a file can no longer be attached (it expired, or went with another message) — attach it again",
  invalid_tone: `a tone indicator this server does not know, or more than ${MAX_TONES} of them`,
  invalid_sticker: "the sticker can no longer be sent (it was removed)",
};
