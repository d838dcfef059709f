// What the client knows, kept up to date by REST answers and WebSocket events. Views listen for
// "change" events naming what changed and redraw only that.

/** Messages fetched per history page. */
export const PAGE = 50;
/** The most messages held for one conversation: further pages are dropped as the reader moves
 * away from them and fetched again when they come back. */
export const MAX_WINDOW = 200;

/**
 * The part of one conversation's timeline the client holds: every entry the server shows with
 * `from <= seq <= to`, in `seq` order, at most MAX_WINDOW of them. `older` / `newer` say whether
 * the server has entries before / after it; live events extend it only while `newer` is false
 * (the window reaches the latest entry), so what it holds never has a hole.
 */
export class Window {
  messages = []; // ascending seq
  older = true;
  newer = false;

  constructor(messages, { older, newer }) {
    this.messages = [...messages].sort((a, b) => a.seq - b.seq);
    this.older = older;
    this.newer = newer;
  }

  get first() { return this.messages[0]; }
  get last() { return this.messages.at(-1); }

  /** The index of `seq`, or where it would go (the first entry above it). */
  indexOf(seq) {
    let lo = 0, hi = this.messages.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.messages[mid].seq < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  get(seq) {
    const m = this.messages[this.indexOf(seq)];
    return m?.seq === seq ? m : undefined;
  }

  /** Puts one entry in: replaced when held, appended when it is the next one at the live end,
   * dropped otherwise (outside the window). Returns "updated", "added" or null. */
  upsert(message) {
    const i = this.indexOf(message.seq);
    if (this.messages[i]?.seq === message.seq) {
      this.messages[i] = message;
      return "updated";
    }
    if (i === this.messages.length && !this.newer) {
      this.messages.push(message);
      return "added";
    }
    // Inside the range the window covers but not held: the server hid it before (a block).
    if (i > 0 && i < this.messages.length) {
      this.messages.splice(i, 0, message);
      return "added";
    }
    return null;
  }

  /** A page of older entries (ascending), placed before the window. */
  prepend(page, older) {
    const before = page.filter((m) => !this.first || m.seq < this.first.seq);
    this.messages = before.concat(this.messages);
    this.older = older;
  }

  /** A page of newer entries (ascending), placed after the window. */
  append(page, newer) {
    const after = page.filter((m) => !this.last || m.seq > this.last.seq);
    this.messages = this.messages.concat(after);
    this.newer = newer;
  }

  /** Keeps at most `max` entries, dropping them from the end away from the reader. */
  trim(keep, max = MAX_WINDOW) {
    const extra = this.messages.length - max;
    if (extra <= 0) return;
    if (keep === "older") { this.messages.length = max; this.newer = true; }
    else { this.messages.splice(0, extra); this.older = true; }
  }
}

export class State extends EventTarget {
  me = null;
  conversations = new Map(); // id -> Conversation
  windows = new Map(); // conversation id -> Window: what is held of its timeline
  presence = new Map(); // user id -> Presence
  ownPresence = null; // {status, status_text?, seen_as}: what you chose (GET/PUT /me/presence)
  typing = new Map(); // conversation id -> Map(user id -> expiry ms)
  notifications = [];
  unreadNotifications = 0;
  contacts = { contacts: [], incoming: [], outgoing: [] };
  activities = [];
  tones = []; // the server's tone indicators (GET /api/v1/tones): [{code, meaning, aliases}], read once
  themes = []; // the server's theme presets (GET /api/v1/themes): [{id, name, light, dark}], read once
  stickers = null; // the server's sticker packs (GET /api/v1/sticker-packs): {packs, can_manage}, read again as the picker opens
  stickersReadAt = 0; // when they were read (a conversation that opens reads them again after a minute)
  gifs = { enabled: false, attribution: "" }; // the server's GIF provider (GET /api/v1/gifs/provider)
  current = null; // open conversation id
  status = "connecting";
  synced = false; // the conversation list has been loaded once
  users = new Map(); // user id -> User: everyone seen, kept after they leave a conversation
  onUnknownUser = null; // (id) => void: asked once per id that no list names
  #asked = new Set();

  changed(what, detail = {}) {
    this.dispatchEvent(new CustomEvent("change", { detail: { what, ...detail } }));
  }

  setConversation(conversation) {
    const known = this.conversations.get(conversation.id);
    // A REST read that raced a change (members added while it was on the wire) answers an older
    // version than the events already brought: keep the newer state, take only what is per viewer.
    if (known && conversation.version !== undefined && known.version > conversation.version) {
      if (conversation.unread_count !== undefined) known.unread_count = conversation.unread_count;
      if (conversation.notification_level !== undefined) known.notification_level = conversation.notification_level;
      for (const member of conversation.members || []) if (member.presence) this.presence.set(member.user.id, member.presence);
      return;
    }
    // Events carry no per-viewer fields: keep ours.
    if (known && conversation.unread_count === undefined) conversation.unread_count = known.unread_count;
    if (known && conversation.notification_level === undefined) conversation.notification_level = known.notification_level;
    // A REST answer carries no version: keep the one sync reached.
    if (known && conversation.version === undefined) conversation.version = known.version;
    for (const member of conversation.members || []) {
      this.users.set(member.user.id, member.user);
      if (member.presence) this.presence.set(member.user.id, member.presence);
    }
    this.conversations.set(conversation.id, conversation);
  }

  /** Entries from an event, a sync or an ack: each goes in its conversation's window if it fits
   * there (see Window.upsert); conversations with no window keep nothing. Returns, per entry,
   * what happened. */
  putMessages(conversationId, list) {
    const held = this.windows.get(conversationId);
    if (!held) return [];
    const changes = [...list].sort((a, b) => a.seq - b.seq).map((m) => held.upsert(m));
    // The open conversation's view trims its own window (it knows where the reader is).
    if (conversationId !== this.current) held.trim("newer", PAGE);
    return changes;
  }

  /** A held message by id (null when it is outside what is held). */
  findMessage(conversationId, messageId) {
    return this.windows.get(conversationId)?.messages.find((m) => m.id === messageId) || null;
  }

  /** A conversation's history as far as it is held (null before its first page). */
  timeline(conversationId) {
    return this.windows.get(conversationId) || null;
  }

  /** Starts a conversation's window over with one page (opening it, or a jump). */
  setWindow(conversationId, messages, bounds) {
    const held = new Window(messages, bounds);
    this.windows.set(conversationId, held);
    return held;
  }

  /** A conversation closed: keep only its latest page, if the window reaches the latest, so that
   * reopening it is instant; forget the rest. */
  settle(conversationId) {
    const held = this.windows.get(conversationId);
    if (!held) return;
    if (held.newer) this.windows.delete(conversationId);
    else held.trim("newer", PAGE);
  }

  /** The highest version applied per conversation, for `sync`. */
  positions() {
    return [...this.conversations.values()].map((c) => ({ id: c.id, version: c.version || 0 }));
  }

  applySync(result) {
    for (const id of result.removed) this.removeConversation(id);
    for (const entry of result.conversations) {
      const conversation = { ...entry.conversation, version: entry.version };
      this.setConversation(conversation);
      this.putMessages(conversation.id, entry.messages);
    }
    this.synced = true;
    this.changed("conversations");
    if (this.current) this.changed("messages", { conversation: this.current });
  }

  rememberUser(user) {
    this.users.set(user.id, user);
  }

  /** A user's profile changed (a `user.updated` event, yours from the Me dialog, or read again
   * for a profile card):
   * every copy held follows, the conversations' member lists included, where pictures are
   * looked up. The caller says what changed. */
  updateUser(user) {
    this.users.set(user.id, user);
    if (user.id === this.me?.id) this.me = user;
    for (const c of this.conversations.values()) {
      for (const member of c.members) if (member.user.id === user.id) member.user = user;
    }
  }

  /** Blocking or unblocking changes how history reads (collapsed or not): drop what is cached so
   * that it is fetched again, and say so. */
  invalidateMessages() {
    this.windows.clear();
    this.changed("reload");
  }

  removeConversation(id) {
    this.conversations.delete(id);
    this.windows.delete(id);
    this.changed("removed", { conversation: id });
  }

  /** Applies one server event. */
  apply(frame) {
    const data = frame.data;
    switch (frame.type) {
      case "message.created":
      case "message.updated": {
        const [change] = this.putMessages(data.conversation_id, [data]);
        const c = this.conversations.get(data.conversation_id);
        if (c) {
          c.version = Math.max(c.version || 0, data.version);
          if (frame.type === "message.created") {
            c.last_seq = Math.max(c.last_seq, data.seq);
            c.last_message = data;
            c.last_activity_at = data.created_at;
            const mine = data.sender_id === this.me?.id;
            if (!mine && data.kind === "text" && this.current !== c.id) c.unread_count = (c.unread_count || 0) + 1;
            this.typing.get(c.id)?.delete(data.sender_id);
          } else if (c.last_message?.id === data.id) {
            // Edited or deleted: the sidebar preview follows.
            c.last_message = data;
          }
        }
        // `change` tells the open timeline what to redraw: one node, or nothing (not held).
        this.changed("messages", { conversation: data.conversation_id, message: data, change, live: frame.type === "message.created" });
        this.changed("conversations");
        break;
      }
      case "conversation.created":
      case "conversation.updated":
        if (frame.type === "conversation.created" && !this.conversations.has(data.id)) this.changed("conversation-new", { conversation: data.id });
        this.setConversation(data);
        this.changed("conversations");
        if (data.id === this.current) this.changed("header");
        break;
      case "conversation.removed":
        this.removeConversation(data.conversation_id);
        this.changed("conversations");
        break;
      case "typing": {
        let map = this.typing.get(data.conversation_id);
        if (!map) this.typing.set(data.conversation_id, (map = new Map()));
        map.set(data.user_id, Date.now() + data.expires_in_ms);
        this.changed("typing", { conversation: data.conversation_id });
        break;
      }
      case "read.updated": {
        const c = this.conversations.get(data.conversation_id);
        const member = c?.members.find((m) => m.user.id === data.user_id);
        if (member) member.read_seq = Math.max(member.read_seq, data.seq);
        if (c && data.user_id === this.me?.id) c.unread_count = 0;
        this.changed("receipts", { conversation: data.conversation_id });
        this.changed("conversations");
        break;
      }
      case "presence.updated":
        this.presence.set(data.user_id, data);
        this.changed("presence");
        break;
      case "user.updated":
        // A new name or picture, from the user (or from your own other session).
        this.updateUser(data);
        this.changed("presence");
        this.changed("names");
        this.changed("conversations");
        break;
      case "contact.updated":
        this.changed("contacts-stale");
        break;
      case "notification.created":
        this.notifications.unshift(data);
        this.unreadNotifications += 1;
        this.changed("notifications", { created: data });
        break;
      case "notifications.read":
        this.unreadNotifications = data.unread_count;
        for (const n of this.notifications) if (data.all || data.ids.includes(n.id)) n.read = true;
        this.changed("notifications");
        break;
    }
  }

  /** A user's display name, also after they left every shared conversation; asks for users no
   * list names (the view redraws when the answer comes). */
  userName(id) {
    if (id === this.me?.id) return this.me.display_name;
    const known = this.users.get(id);
    if (known) return known.display_name;
    if (id && !this.#asked.has(id)) { this.#asked.add(id); this.onUnknownUser?.(id); }
    return "someone";
  }

  /** The user, if known (members, contacts, people looked up). */
  user(id) {
    return id === this.me?.id ? this.me : this.users.get(id);
  }

  /** The conversation list as the sidebar shows it: latest activity first. */
  sortedConversations() {
    return [...this.conversations.values()].sort((a, b) => (b.last_activity_at || "").localeCompare(a.last_activity_at || ""));
  }

  /** Unread messages across conversations, for the tab title; muted ones (level `none`) do not
   * call for attention and are left out. */
  unreadTotal() {
    let total = 0;
    for (const c of this.conversations.values()) if (c.notification_level !== "none") total += c.unread_count || 0;
    return total;
  }

  title(conversation) {
    if (conversation.kind === "group") return conversation.name;
    const other = conversation.members.find((m) => m.user.id !== this.me?.id);
    return other ? other.user.display_name : "Direct conversation";
  }

  otherMember(conversation) {
    return conversation.kind === "direct" ? conversation.members.find((m) => m.user.id !== this.me?.id)?.user : null;
  }
}
