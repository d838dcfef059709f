// The conversation timeline: a bounded window of the history (state.js's Window) drawn as one
// list, fetched a page at a time as the reader scrolls either way, and jumped to a message, the
// first unread or the latest. Drawing is keyed: each entry's node is rebuilt only when what it
// shows changed, so a new message appends one node and an edit or reaction replaces one.

import { botBadge, clear, confirmLeave, h, modal, name, timeOf } from "../dom.js";
import { plainText, renderBody } from "../markdown.js";
import { MAX_WINDOW, PAGE } from "../state.js";
import { avatar, continues, dayKey, dayLabel, describeSystem, joined, toneChips } from "./render.js";
import { attachmentsNode } from "./attachments.js";
import { previewsNode } from "./previews.js";
import { stickerNode } from "./sticker.js";
import { findSticker, stickerSummary } from "../stickers.js";
import { toneWords } from "../tones.js";
import { attachmentSummary } from "../files.js";
import { closeMenu, openMenu } from "./menu.js";

/** How close to an end of the list (px) the next page is fetched. */
const EDGE = 800;
/** How close to the bottom (px) counts as reading the latest. */
const STUCK = 40;
const LONG_PRESS_MS = 500;

/**
 * The timeline of conversation `id`. `actions` does what the user asks of a message (reply,
 * react, pickReaction, edit, remove, removePreviews, copyLink, pin, canPin, canDelete,
 * openProfile, refusal).
 * Returns {element, open, render, update, jumpTo, jumpToId, jumpToLatest, jumpToUnread,
 * lastOwnEditable, markRead, disable, dispose}.
 */
export function createTimeline(ctx, id, actions) {
  const { api, state, connection } = ctx;
  const list = h("ol.messages.timeline", { "aria-label": "Messages", tabindex: "0" });
  const announcer = h("div.sr-only", { "aria-live": "polite", "aria-relevant": "additions" });
  const latestButton = h("button.jump-latest.hidden", { type: "button", "aria-label": "Jump to latest", title: "Jump to latest", on: { click: () => jumpToLatest() } }, "↓");
  const unreadButton = h("button.jump-unread.hidden", { type: "button", on: { click: () => jumpToUnread() } }, "Jump to first unread");
  const element = h("div.timeline-pane", list, unreadButton, latestButton, announcer);
  // One toolbar, moved to the message under the pointer or focus: a node per message would
  // multiply the page's size for buttons nobody is looking at.
  const toolbar = h("div.message-actions", { role: "toolbar", "aria-label": "Message actions" },
    h("button", { type: "button", "data-act": "quick-react", "aria-label": "React 👍", title: "React 👍" }, "👍"),
    h("button", { type: "button", "data-act": "react", "aria-label": "Add reaction", title: "Add reaction" }, "☺"),
    h("button", { type: "button", "data-act": "reply", "aria-label": "Reply", title: "Reply" }, "↩"),
    h("button", { type: "button", "data-act": "menu", "aria-label": "More actions", title: "More actions", "aria-haspopup": "menu", "aria-expanded": "false" }, "⋯"));

  let nodes = new Map(); // key -> {deps, el}
  let generation = 0; // bumped when names or roles change: every node is redrawn
  let loading = null; // "older" | "newer" | "jump" while a page is on its way
  let disabled = false;
  let unreadAfter = null; // my read position when the conversation opened: the divider goes after it
  let flashTimer = null;
  let readSent = 0;
  let caughtUp = false; // the reader has seen the unread divider: no "Jump to first unread"

  const conversation = () => state.conversations.get(id);
  const held = () => state.timeline(id);
  const me = () => state.me.id;
  const userOf = (uid) => conversation()?.members.find((m) => m.user.id === uid)?.user || state.users.get(uid) || (uid === me() ? state.me : null);
  const messageOf = (el) => { const li = el?.closest?.("li[data-seq]"); return li ? held()?.get(Number(li.dataset.seq)) : null; };

  // --- drawing -------------------------------------------------------------------------------

  /** What the list shows, in order, each with a key and the values its node depends on. */
  function items() {
    const w = held();
    const out = [];
    if (!w) return out;
    if (w.older) out.push({ key: "older", deps: [loading === "older"], build: () => h("li.more", h("button.link", { type: "button", "data-act": "older", disabled: disabled || null }, loading === "older" ? "Loading…" : "Load earlier messages")) });
    let prev = null;
    let divided = false;
    const now = new Date();
    for (const m of w.messages) {
      const day = dayKey(m.created_at);
      const newDay = !prev || dayKey(prev.created_at) !== day;
      if (newDay) {
        const label = dayLabel(m.created_at, now);
        out.push({ key: `day:${day}`, deps: [label], build: () => h("li.day", h("span", label)) });
      }
      let divider = false;
      if (!divided && unreadAfter !== null && m.seq > unreadAfter && m.sender_id !== me() && m.kind !== "system") {
        divided = divider = true;
        out.push({ key: "unread", deps: [], build: () => h("li.unread-divider", h("span", "New messages")) });
      }
      const head = divider || newDay || !continues(prev, m);
      out.push({ key: `m:${m.seq}`, deps: [m, head, generation], build: () => messageNode(m, head) });
      prev = m;
    }
    if (!w.newer) {
      // A queued message whose copy already arrived (the event comes before the ack) shows once.
      const arrived = new Set(w.messages.slice(-PAGE).filter((m) => m.sender_id === me() && m.client_id).map((m) => m.client_id));
      for (const item of connection.outbox) {
        if (item.conversation_id !== id || arrived.has(item.client_id)) continue;
        out.push({ key: `pending:${item.client_id}`, deps: [item], build: () => h("li.message.mine.continued.pending", h("div.gutter"), h("div.content", queuedBody(item), h("small.muted", "sending…"))) });
      }
      for (const item of connection.failed) {
        if (item.conversation_id === id) out.push({ key: `failed:${item.client_id}`, deps: [item], build: () => failedNode(item) });
      }
      const seen = seenBy();
      if (seen) out.push({ key: "seen", deps: [seen.text], build: () => h("li.seen", "Seen by ", joined(seen.names)) });
    }
    return out;
  }

  function seenBy() {
    const c = conversation();
    const w = held();
    let last = null;
    for (let i = w.messages.length - 1; i >= 0 && !last; i--) if (w.messages[i].sender_id === me() && w.messages[i].kind !== "system") last = w.messages[i];
    if (!c || !last) return null;
    const readers = c.members.filter((m) => m.user.id !== me() && m.read_seq >= last.seq).map((m) => m.user.display_name);
    return readers.length ? { text: readers.join("\n"), names: readers.map(name) } : null;
  }

  function messageNode(m, head) {
    if (m.kind === "system") return h("li.system", { dataset: { seq: m.seq, id: m.id } }, describeSystem(m, (u) => state.userName(u), { presetName }));
    const mine = m.sender_id === me();
    const author = [name(state.userName(m.sender_id)), botBadge(state.user(m.sender_id))];
    const files = m.deleted_at || m.collapsed ? null : attachmentsNode(m.attachments);
    const body = m.deleted_at ? h("p.body.deleted", "Message deleted")
      : m.collapsed ? h("p.body.deleted", "Message from a user you blocked")
      : m.kind === "invitation" ? invitationCard(m)
      : m.kind === "sticker" ? stickerNode(m.sticker)
      : !m.body && files ? null
      : h("div.body", bodyWithTones(renderBody(m.body, { mentions: mentionedNames(m), me: state.me.username }), m.tones));
    const previews = m.deleted_at || m.collapsed ? null : previewsNode(m.previews);
    const quote = m.reply ? h("button.quote", { type: "button", "data-act": "quote", "data-target": m.reply.message_id },
      h("strong", name(state.userName(m.reply.sender_id))), " ", m.reply.deleted ? "(deleted)" : h("bdi", plainText(m.reply.excerpt))) : null;
    const reactions = m.reactions?.length ? h("div.reactions", m.reactions.map((r) => {
      const pressed = r.users.includes(me());
      return h("button.reaction", { type: "button", "data-act": "reaction", "data-emoji": r.emoji, "aria-pressed": String(pressed), "aria-label": `${r.emoji} ${r.count}${pressed ? ", yours" : ""}` }, `${r.emoji} ${r.count}`);
    })) : null;
    const time = h("time", { datetime: m.created_at, title: new Date(m.created_at).toLocaleString() }, timeOf(m.created_at));
    const marks = [m.edited_at ? h("small.edited", " (edited)") : null, m.pinned ? h("span.pin-mark", { title: "Pinned", "aria-label": "Pinned" }, " 📌") : null];
    const classes = ["message", head ? "head" : "continued"];
    if (mine) classes.push("mine");
    if (m.pinned) classes.push("pinned");
    if (!mine && m.mentions?.includes(me())) classes.push("mentioned");
    if (m.deleted_at || m.collapsed) classes.push("gone");
    return h("li", { class: classes.join(" "), tabindex: "-1", dataset: { seq: m.seq, id: m.id } },
      h("div.gutter", head ? avatar(userOf(m.sender_id), m.sender_id) : h("time.hover-time", { datetime: m.created_at, "aria-hidden": "true" }, timeOf(m.created_at))),
      h("div.content",
        head ? h("div.meta", h("button.link.author", { type: "button", "data-act": "author", "data-user": m.sender_id }, author), " ", time, marks)
          : h("span.sr-only", author, " ", timeOf(m.created_at), " "),
        quote, body, previews, files, head ? null : marks, reactions));
  }

  const presetName = (preset) => state.themes.find((t) => t.id === preset)?.name || null;

  /** The body's blocks with its tone indicators after the text: on the last line when that is a
   * paragraph (where they were typed), else on a line of their own. */
  function bodyWithTones(blocks, tones) {
    const chips = toneChips(tones, state.tones);
    if (!chips) return blocks;
    const last = blocks.at(-1);
    if (last?.matches?.("p.md-p")) { last.append(" ", chips); return blocks; }
    return [...blocks, h("p.md-p.tone-line", chips)];
  }

  /** The usernames behind a message's `mentions` (user ids), which renderBody highlights. */
  function mentionedNames(m) {
    return (m.mentions || []).map((uid) => userOf(uid)?.username).filter(Boolean);
  }

  /** What a queued or refused message says: its text, and how many files it carries (their
   * names and pictures come with the server's answer). */
  function queuedBody(item) {
    const count = item.attachments?.length || 0;
    // A sticker on its way: the picture from the picker's packs (the server's answer has it too).
    if (item.sticker_id) {
      const sticker = findSticker(state.stickers?.packs, item.sticker_id);
      return sticker ? stickerNode(sticker) : h("p.body", "Sticker");
    }
    return [
      item.body ? h("div.body", bodyWithTones(renderBody(item.body, { me: state.me.username }), item.tones)) : null,
      count ? h("p.body.queued-files", `📎 ${count} ${count === 1 ? "file" : "files"}`) : null,
    ];
  }

  /** A message the server refused: shown with its reason, to send again or discard. */
  function failedNode(item) {
    return h("li.message.mine.continued.failed", { dataset: { clientId: item.client_id } }, h("div.gutter"),
      h("div.content",
        queuedBody(item),
        h("p.error", { role: "alert" }, `Not sent: ${actions.refusal(item.error)}`),
        h("div.actions",
          h("button.link", { type: "button", on: { click: () => connection.retry(item.client_id) } }, "Retry"),
          h("button.link", { type: "button", on: { click: () => connection.discard(item.client_id) } }, "Delete"))));
  }

  function invitationCard(m) {
    const inv = m.invitation;
    const mine = m.sender_id === me();
    const forMe = !mine && (!inv.invitee || inv.invitee === me());
    const act = (verb) => h("button", { type: "button", on: { click: () => api.post(`/api/v1/conversations/${id}/invitations/${m.id}/${verb}`).catch((e) => modal("Invitation", e.message)) } }, verb[0].toUpperCase() + verb.slice(1));
    const join = inv.result?.join_url && /^https?:\/\//.test(inv.result.join_url) ? h("button", { type: "button", on: { click: () => confirmLeave(inv.result.join_url) } }, "Join") : null;
    return h("div.invitation", { "data-state": inv.state },
      h("p", h("strong", name(state.userName(m.sender_id))), " invites ", inv.invitee ? name(state.userName(inv.invitee)) : "you all", " to ", h("bdi", inv.label)),
      h("p.muted", inv.state + (inv.reason ? ` — ${inv.reason}` : "")),
      inv.state === "pending" && !disabled ? h("div.row", forMe ? [act("accept"), act("decline")] : null, mine ? act("cancel") : null) : null,
      join);
  }

  const same = (a, b) => a.length === b.length && a.every((v, i) => v === b[i]);

  /** Redraws what changed, keeping the reader's place: stuck to the bottom, or the first entry
   * in view where it was on screen (also when pages are added or dropped above it). */
  function render() {
    const focused = document.activeElement;
    const next = new Map();
    const els = [];
    for (const item of items()) {
      const old = nodes.get(item.key);
      const el = old && same(old.deps, item.deps) ? old.el : item.build();
      next.set(item.key, { deps: item.deps, el });
      els.push(el);
    }
    const anchor = captureAnchor(next);
    let refocus = toolbar.contains(focused) ? focused : null;
    for (const [key, { el }] of nodes) {
      const now = next.get(key)?.el;
      if (now === el) continue;
      // The toolbar (and the focus in it) moves to the message's new node.
      if (now && el.contains(toolbar)) now.append(toolbar);
      if (el.contains(focused) && !toolbar.contains(focused)) refocus = now || null;
      el.remove();
    }
    let ref = list.firstChild;
    for (const el of els) {
      if (el === ref) ref = ref.nextSibling;
      else list.insertBefore(el, ref);
    }
    nodes = next;
    restoreAnchor(anchor);
    // A focused node that moves or is replaced loses focus: give it back.
    if (refocus && refocus.isConnected && document.activeElement !== refocus) refocus.focus({ preventScroll: true });
    updateButtons();
  }

  const distanceToBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight;
  const atLatest = () => { const w = held(); return !!w && !w.newer && distanceToBottom() < STUCK; };

  /** Where the reader is, measured before the DOM changes: the first message in view that
   * `next` keeps as it is (a rebuilt one may change height, e.g. a run's first message that
   * loses its header when the page above it arrives). */
  function captureAnchor(next) {
    if (!nodes.size) return { bottom: true };
    if (atLatest()) return { bottom: true };
    const top = list.getBoundingClientRect().top;
    for (const [key, { el }] of nodes) {
      if (!key.startsWith("m:") || next.get(key)?.el !== el) continue;
      const r = el.getBoundingClientRect();
      if (r.bottom > top) return { key, offset: r.top - top };
    }
    return null;
  }

  function restoreAnchor(anchor) {
    if (!anchor) return;
    if (anchor.bottom) { if (!held()?.newer) list.scrollTop = list.scrollHeight; return; }
    const el = nodes.get(anchor.key)?.el;
    if (!el) return;
    list.scrollTop += el.getBoundingClientRect().top - list.getBoundingClientRect().top - anchor.offset;
  }

  function updateButtons() {
    const w = held();
    latestButton.classList.toggle("hidden", !w || (!w.newer && distanceToBottom() < STUCK * 4));
    const divider = nodes.get("unread")?.el;
    if (divider && !caughtUp) {
      const r = divider.getBoundingClientRect(), l = list.getBoundingClientRect();
      caughtUp = r.bottom > l.top && r.top < l.bottom;
    }
    const shown = !caughtUp && firstUnreadSeq() !== null && !!w;
    unreadButton.classList.toggle("hidden", !shown);
  }

  // --- paging and jumps ---------------------------------------------------------------------

  const history = (query) => api.get(`/api/v1/conversations/${id}/messages?limit=${PAGE}${query}`);

  async function loadOlder() {
    const w = held();
    if (!w || !w.older || loading) return;
    if (!w.first) { w.older = false; return render(); }
    loading = "older";
    try {
      const page = await history(`&before=${w.first.seq}`);
      if (held() !== w) return;
      w.prepend(page.messages, page.has_more);
      w.trim("older");
    } finally {
      loading = null;
    }
    render();
    nearEdges();
  }

  async function loadNewer() {
    const w = held();
    if (!w || !w.newer || loading || !w.last) return;
    loading = "newer";
    try {
      const page = await history(`&after=${w.last.seq}`);
      if (held() !== w) return;
      w.append(page.messages, page.has_more);
      w.trim("newer");
    } finally {
      loading = null;
    }
    render();
    nearEdges();
  }

  /** Fetches the next page when the reader is near an end of what is held. */
  function nearEdges() {
    if (loading || !list.isConnected) return;
    if (list.scrollTop < EDGE && held()?.older) loadOlder().catch(() => {});
    else if (distanceToBottom() < EDGE && held()?.newer) loadNewer().catch(() => {});
  }

  /** Events that arrived while the first page was on its way were not held: fetch them. */
  async function catchUp(w) {
    while (held() === w && !w.newer && (conversation()?.last_seq || 0) > (w.last?.seq || 0)) {
      const page = await history(`&after=${w.last?.seq || 0}`);
      if (held() !== w) return;
      for (const m of page.messages) w.upsert(m);
      if (!page.has_more || !page.messages.length) break;
    }
    w.trim("newer");
  }

  /** Opens at `seq` if given, else at the latest (scrolled to the unread divider when it is in
   * the first page). */
  async function open({ seq } = {}) {
    const c = conversation();
    const mine = c?.members.find((m) => m.user.id === me());
    caughtUp = false;
    unreadAfter = mine && c.last_seq > mine.read_seq && (c.unread_count ?? 1) > 0 ? mine.read_seq : null;
    if (seq) return jumpTo(seq);
    let w = held();
    if (!w || w.newer) {
      loading = "jump";
      try {
        const page = await history("");
        w = state.setWindow(id, page.messages, { older: page.has_more, newer: false });
      } finally {
        loading = null;
      }
      await catchUp(w);
    }
    nodes.forEach(({ el }) => el.remove());
    nodes = new Map();
    render();
    const divider = nodes.get("unread")?.el;
    if (divider && divider.offsetTop - list.offsetTop > list.clientHeight / 3) list.scrollTop = divider.offsetTop - list.offsetTop - 16;
    else list.scrollTop = list.scrollHeight;
    updateButtons();
    markRead();
    requestAnimationFrame(nearEdges);
  }

  /** Shows message `seq` (fetching the page around it when it is not held) and flashes it. */
  async function jumpTo(seq, { flash = true } = {}) {
    seq = Number(seq);
    if (!Number.isSafeInteger(seq) || seq < 1) return jumpToLatest();
    if (!held()?.get(seq)) {
      loading = "jump";
      try {
        const page = await history(`&after=${Math.max(0, seq - PAGE / 2 - 1)}`);
        if (!page.messages.length) { loading = null; return jumpToLatest(); }
        state.setWindow(id, page.messages, { older: page.messages[0].seq > 1, newer: page.has_more });
      } finally {
        loading = null;
      }
      nodes.forEach(({ el }) => el.remove());
      nodes = new Map();
      render();
    }
    const w = held();
    const target = w.get(seq) || w.messages[Math.min(w.indexOf(seq), w.messages.length - 1)];
    const el = target && nodes.get(`m:${target.seq}`)?.el;
    if (el) {
      list.scrollTop += el.getBoundingClientRect().top - list.getBoundingClientRect().top - (list.clientHeight - el.offsetHeight) / 2;
      if (flash) {
        clearTimeout(flashTimer);
        list.querySelector(".flash")?.classList.remove("flash");
        el.classList.add("flash");
        flashTimer = setTimeout(() => el.classList.remove("flash"), 1500);
      }
      el.focus({ preventScroll: true });
    }
    updateButtons();
    requestAnimationFrame(nearEdges);
  }

  /** A reply's original: known by id only, so look in what is held, then a few pages back. */
  async function jumpToId(messageId) {
    const w = held();
    const found = w?.messages.find((m) => m.id === messageId);
    if (found) return jumpTo(found.seq);
    let before = w?.first?.seq;
    for (let i = 0; before > 1 && i < 20; i++) {
      const page = await history(`&before=${before}`);
      const hit = page.messages.find((m) => m.id === messageId);
      if (hit) return jumpTo(hit.seq);
      if (!page.has_more || !page.messages.length) break;
      before = page.messages[0].seq;
    }
    modal("Message not found", "The original message is no longer in this conversation's history.");
  }

  async function jumpToLatest() {
    const w = held();
    if (!w || w.newer) {
      loading = "jump";
      try {
        const page = await history("");
        state.setWindow(id, page.messages, { older: page.has_more, newer: false });
      } finally {
        loading = null;
      }
      nodes.forEach(({ el }) => el.remove());
      nodes = new Map();
      render();
    }
    list.scrollTop = list.scrollHeight;
    updateButtons();
    markRead();
  }

  function firstUnreadSeq() {
    if (unreadAfter === null) return null;
    const c = conversation();
    return c && c.last_seq > unreadAfter ? unreadAfter + 1 : null;
  }

  function jumpToUnread() {
    const seq = firstUnreadSeq();
    if (seq === null) return jumpToLatest();
    return jumpTo(seq, { flash: false }).then(() => {
      const divider = nodes.get("unread")?.el;
      if (divider) list.scrollTop += divider.getBoundingClientRect().top - list.getBoundingClientRect().top - 16;
      updateButtons();
    });
  }

  // --- reading ------------------------------------------------------------------------------

  /** Marks the latest as read once the reader is at the bottom of it (and the tab is visible). */
  function markRead() {
    const c = conversation();
    const w = held();
    if (!c || !w || w.newer || document.hidden || disabled || !w.last) return;
    if (distanceToBottom() > STUCK * 2) return;
    const mine = c.members.find((m) => m.user.id === me());
    if (mine && mine.read_seq < w.last.seq && readSent < w.last.seq) {
      readSent = w.last.seq; // once per position, not once per scroll event
      connection.notify("read", { conversation_id: id, seq: w.last.seq });
    }
    if (c.unread_count) { c.unread_count = 0; state.changed("conversations"); }
  }

  /** One state change about this conversation's timeline. */
  function update(detail) {
    const w = held();
    if (!w) return;
    const { message, change, live } = detail;
    if (message && change === null) return updateButtons(); // not held: nothing on screen changes
    const stuck = atLatest();
    if (live && change === "added") {
      if (stuck) w.trim("newer");
      else if (w.messages.length > MAX_WINDOW + PAGE) w.trim("older");
      if (message.sender_id !== me() && message.kind !== "system") announce(message);
    }
    render();
    if (stuck || !live) markRead();
  }

  function announce(m) {
    const tones = m.collapsed ? "" : toneWords(m.tones, state.tones);
    const text = m.kind === "invitation" ? `invites you to ${m.invitation?.label || "an activity"}` : m.collapsed ? "a hidden message" : m.kind === "sticker" ? stickerSummary(m.sticker) : [...(m.body || attachmentSummary(m.attachments))].slice(0, 140).join("") + (tones ? ` (${tones})` : "");
    announcer.append(h("p", name(state.userName(m.sender_id)), ": ", h("bdi", text)));
    while (announcer.childNodes.length > 3) announcer.firstChild.remove();
  }

  /** Everything redrawn (names, roles, blocking changed what is shown). */
  function redrawAll() {
    generation += 1;
    render();
  }

  function lastOwnEditable() {
    const w = held();
    if (!w || w.newer) return null;
    for (let i = w.messages.length - 1; i >= 0; i--) {
      const m = w.messages[i];
      if (m.sender_id === me() && m.kind === "text" && !m.deleted_at) return m;
    }
    return null;
  }

  /** Read-only: the reader can still scroll and read, but not act. */
  function disable() {
    disabled = true;
    closeMenu();
    toolbar.remove();
    for (const button of list.querySelectorAll(".actions button, .invitation button, .more button")) button.disabled = true;
  }

  // --- actions: hover, focus, keyboard, long press -------------------------------------------

  function menuItems(m) {
    const items = [
      { label: "Reply", run: () => actions.reply(m) },
      { label: "Add reaction…", run: () => actions.pickReaction(m, toolbar.querySelector("[data-act=menu]")) },
    ];
    if (m.sender_id === me() && m.kind === "text") items.push({ label: "Edit", run: () => actions.edit(m) });
    if (m.sender_id === me() && m.previews?.length) items.push({ label: m.previews.length === 1 ? "Remove preview" : "Remove previews", run: () => actions.removePreviews(m) });
    items.push({ label: "Copy link", run: () => actions.copyLink(m) });
    if (actions.canPin()) items.push({ label: m.pinned ? "Unpin" : "Pin", run: () => actions.pin(m, !m.pinned) });
    if (actions.canDelete(m)) items.push({ label: "Delete", danger: true, run: () => actions.remove(m) });
    return items;
  }

  /** Puts the toolbar on `li` when it is a message that can be acted on. */
  function attachToolbar(li) {
    if (disabled || !li || toolbar.parentNode === li) return;
    const m = messageOf(li);
    if (!m || m.kind === "system" || m.deleted_at || m.collapsed) return;
    li.append(toolbar);
  }

  function openMessageMenu(m, anchor) {
    const li = nodes.get(`m:${m.seq}`)?.el;
    li?.classList.add("menu-open");
    openMenu(anchor, menuItems(m), { onClose: () => li?.classList.remove("menu-open") });
  }

  list.addEventListener("pointerover", (e) => { if (e.pointerType !== "touch") attachToolbar(e.target.closest("li.message[data-seq]")); });
  list.addEventListener("focusin", (e) => attachToolbar(e.target.closest("li.message[data-seq]")));
  list.addEventListener("click", (e) => {
    const target = e.target.closest("[data-act]");
    if (!target || disabled) return;
    const m = messageOf(target);
    switch (target.dataset.act) {
      case "older": return loadOlder();
      case "author": return actions.openProfile(target.dataset.user);
      case "quote": return jumpToId(target.dataset.target);
      case "reaction": if (m) actions.react(m, target.dataset.emoji, target.getAttribute("aria-pressed") !== "true"); return;
      case "quick-react": if (m) actions.react(m, "👍", !m.reactions?.some((r) => r.emoji === "👍" && r.users.includes(me()))); return;
      case "react": if (m) actions.pickReaction(m, target); return;
      case "reply": if (m) actions.reply(m); return;
      case "menu": if (m) openMessageMenu(m, target); return;
    }
  });
  list.addEventListener("contextmenu", (e) => {
    const li = e.target.closest("li.message[data-seq]");
    const m = messageOf(li);
    // Links and pictures keep the browser's own menu (open, copy, save).
    if (!m || disabled || m.kind === "system" || e.target.closest("a, img")) return;
    e.preventDefault();
    attachToolbar(li);
    if (!m.deleted_at && !m.collapsed) openMessageMenu(m, toolbar.querySelector("[data-act=menu]"));
  });
  // Long press on touch: the menu (phones have no hover).
  let press = null;
  const cancelPress = () => { if (press) { clearTimeout(press.timer); press = null; } };
  list.addEventListener("pointerdown", (e) => {
    if (e.pointerType !== "touch") return;
    const li = e.target.closest("li.message[data-seq]");
    const m = messageOf(li);
    if (!m || disabled || m.kind === "system" || m.deleted_at || m.collapsed) return;
    press = { x: e.clientX, y: e.clientY, timer: setTimeout(() => { press = null; attachToolbar(li); openMessageMenu(m, toolbar.querySelector("[data-act=menu]")); }, LONG_PRESS_MS) };
  });
  list.addEventListener("pointermove", (e) => { if (press && Math.hypot(e.clientX - press.x, e.clientY - press.y) > 10) cancelPress(); });
  for (const type of ["pointerup", "pointercancel"]) list.addEventListener(type, cancelPress);
  // Keyboard: arrows move between messages, Enter or the menu key opens a message's menu.
  list.addEventListener("keydown", (e) => {
    const onItem = e.target === list || e.target.matches("li[data-seq]");
    if (!onItem) return;
    const items = [...list.querySelectorAll("li[data-seq]")];
    const at = items.indexOf(e.target);
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const next = e.target === list ? items.at(e.key === "ArrowUp" ? -1 : 0) : items[at + (e.key === "ArrowDown" ? 1 : -1)];
      next?.focus();
    } else if (e.target !== list && (e.key === "Enter" || e.key === "ContextMenu" || (e.key === "F10" && e.shiftKey))) {
      const m = messageOf(e.target);
      if (!m || m.kind === "system" || m.deleted_at || m.collapsed || disabled) return;
      e.preventDefault();
      attachToolbar(e.target);
      openMessageMenu(m, toolbar.querySelector("[data-act=menu]"));
    }
  });
  list.addEventListener("scroll", () => { stuck = atLatest(); cancelPress(); nearEdges(); updateButtons(); markRead(); }, { passive: true });
  // The list gets shorter when the composer grows (files, tone chips, a hint) or the window does:
  // a reader at the latest message stays there.
  let stuck = true;
  const resized = new ResizeObserver(() => { if (stuck && !held()?.newer) list.scrollTop = list.scrollHeight; });
  resized.observe(list);

  function dispose() {
    closeMenu();
    clearTimeout(flashTimer);
    cancelPress();
    resized.disconnect();
    state.settle(id);
  }

  return { element, list, open, render, update, redrawAll, jumpTo, jumpToId, jumpToLatest, jumpToUnread, lastOwnEditable, markRead, disable, dispose, clearAnnouncements: () => clear(announcer) };
}
