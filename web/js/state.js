// What the client knows, kept up to date by REST answers and WebSocket events. Views listen for
// "change" events naming what changed and redraw only that.

export class State extends EventTarget {
  me = null;
  conversations = new Map(); // id -> Conversation
  messages = new Map(); // conversation id -> Map(seq -> Message)
  hasOlder = new Map(); // conversation id -> bool
  presence = new Map(); // user id -> Presence
  ownPresence = null; // {status, status_text?, seen_as}: what you chose (GET/PUT /me/presence)
  typing = new Map(); // conversation id -> Map(user id -> expiry ms)
  notifications = [];
  unreadNotifications = 0;
  contacts = { contacts: [], incoming: [], outgoing: [] };
  activities = [];
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

  putMessages(conversationId, list) {
    let map = this.messages.get(conversationId);
    if (!map) this.messages.set(conversationId, (map = new Map()));
    for (const m of list) map.set(m.seq, m);
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
      if (this.messages.has(conversation.id) || entry.messages.length) this.putMessages(conversation.id, entry.messages);
    }
    this.synced = true;
    this.changed("conversations");
    if (this.current) this.changed("messages", { conversation: this.current });
  }

  rememberUser(user) {
    this.users.set(user.id, user);
  }

  /** Blocking or unblocking changes how history reads (collapsed or not): drop what is cached so
   * that it is fetched again, and say so. */
  invalidateMessages() {
    this.messages.clear();
    this.hasOlder.clear();
    this.changed("reload");
  }

  removeConversation(id) {
    this.conversations.delete(id);
    this.messages.delete(id);
    this.changed("removed", { conversation: id });
  }

  /** Applies one server event. */
  apply(frame) {
    const data = frame.data;
    switch (frame.type) {
      case "message.created":
      case "message.updated": {
        this.putMessages(data.conversation_id, [data]);
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
        this.changed("messages", { conversation: data.conversation_id, message: data });
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
