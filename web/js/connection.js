// The WebSocket: authenticated with the subprotocol, reconnected with backoff, and resumed with
// `sync` so that nothing is missed. Messages typed while offline wait in an outbox and are sent
// once the connection is back, each with its client_id so that a retry never duplicates.

import { sessionStore } from "./storage.js";

export class Connection {
  #socket = null;
  #pending = new Map(); // command id -> {resolve, reject}
  #nextId = 0;
  #backoff = 1000;
  #stopped = false;
  #flushing = false;
  outbox = []; // {client_id, conversation_id, body, reply_to?, attachments?: [upload id], tones?: [code], literal?, sticker_id?}
  failed = []; // refused by the server: outbox items with `error: {code, message}`, until retried or discarded

  constructor(api, state, onSignedOut) {
    this.api = api;
    this.state = state;
    this.onSignedOut = onSignedOut;
    try { this.outbox = JSON.parse(sessionStore.getItem("confab.outbox")) || []; } catch { this.outbox = []; }
  }

  start() {
    this.#stopped = false;
    this.#open();
  }

  stop() {
    this.#stopped = true;
    this.#socket?.close(1000);
  }

  #setStatus(status) {
    this.state.status = status;
    this.state.changed("status");
  }

  #open() {
    this.#setStatus(this.state.status === "online" ? "connecting" : this.state.status === "offline" ? "offline" : "connecting");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/api/v1/ws`, ["confab.v1", `bearer.${this.api.tokens.access_token}`]);
    this.#socket = socket;
    socket.onmessage = (event) => this.#receive(JSON.parse(event.data));
    socket.onclose = (event) => this.#closed(event);
  }

  async #receive(frame) {
    if (frame.type === "ready") {
      this.#backoff = 1000;
      this.state.me = frame.data.user;
      await this.#resync();
      return;
    }
    if (frame.type === "resync") {
      // Events may have been lost between nodes: step back where the server says, then sync.
      for (const { id, version } of frame.data.conversations) {
        const c = this.state.conversations.get(id);
        if (c) c.version = Math.min(c.version || 0, version);
      }
      await this.#resync();
      return;
    }
    if ((frame.type === "ack" || frame.type === "error") && frame.id && this.#pending.has(frame.id)) {
      const { resolve, reject } = this.#pending.get(frame.id);
      this.#pending.delete(frame.id);
      if (frame.type === "ack") resolve(frame.data);
      else reject(Object.assign(new Error(frame.data.message), { code: frame.data.code }));
      return;
    }
    this.state.apply(frame);
  }

  async #resync() {
    this.#setStatus("resyncing");
    try {
      if (!this.state.synced) await this.#loadList();
      for (;;) {
        const result = await this.request("sync", { conversations: this.state.positions(), limit: 500 });
        this.state.applySync(result);
        if (!result.has_more) break;
      }
      this.#setStatus("online");
      await this.flush();
    } catch (error) {
      console.warn("resync failed", error);
    }
  }

  /** A page that holds nothing yet starts from the conversation list, each conversation at the
   * version it has now: history loads page by page as a conversation opens, so the first `sync`
   * brings only what changed since instead of every message of every conversation. */
  async #loadList() {
    let cursor = null;
    do {
      const page = await this.api.get(`/api/v1/conversations?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      for (const c of page.conversations) if (!this.state.conversations.has(c.id)) this.state.setConversation(c);
      cursor = page.next_cursor;
    } while (cursor);
  }

  #closed(event) {
    for (const { reject } of this.#pending.values()) reject(new Error("connection closed"));
    this.#pending.clear();
    if (event.code === 4009) return this.onSignedOut();
    if (this.#stopped) return;
    this.#setStatus("offline");
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, 15000);
    setTimeout(async () => {
      // The access token may have expired while away: a REST call refreshes it.
      try { await this.api.get("/api/v1/me"); } catch { /* offline: try the socket anyway */ }
      if (!this.#stopped) this.#open();
    }, wait);
  }

  /** Sends a command and resolves with its ack data. */
  request(type, data) {
    return new Promise((resolve, reject) => {
      if (this.#socket?.readyState !== WebSocket.OPEN) return reject(new Error("offline"));
      const id = `w${++this.#nextId}`;
      this.#pending.set(id, { resolve, reject });
      this.#socket.send(JSON.stringify({ type, id, data }));
    });
  }

  /** Fire-and-forget (typing). */
  notify(type, data) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify({ type, data }));
  }

  /** Queues a message and sends it now if possible; `attachments` are complete uploads' ids,
   * `tones` the tone indicators chosen from the menu, `literal` keeps typed ones as text,
   * `sticker_id` sends a sticker (with an empty body). */
  send(conversation_id, body, reply_to, attachments = [], { tones = [], literal = false, sticker_id = null } = {}) {
    const item = { client_id: crypto.randomUUID(), conversation_id, body };
    if (reply_to) item.reply_to = reply_to;
    if (attachments.length) item.attachments = attachments;
    if (tones.length) item.tones = tones;
    if (literal) item.literal = true;
    if (sticker_id) item.sticker_id = sticker_id;
    this.outbox.push(item);
    this.#saveOutbox();
    this.state.changed("outbox");
    return this.flush();
  }

  async flush() {
    // One flush at a time: two would send the head twice and then drop a message unsent.
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      await this.#drain();
    } finally {
      this.#flushing = false;
    }
  }

  async #drain() {
    while (this.outbox.length && this.state.status === "online") {
      const item = this.outbox[0];
      try {
        const message = await this.request("message.send", item);
        this.state.putMessages(message.conversation_id, [message]);
      } catch (error) {
        if (!error.code) return; // connection trouble: keep it for the next attempt
        // Refused (blocked, removed, too long): kept with the reason, for the user to retry or discard.
        this.failed.push({ ...item, error: { code: error.code, message: error.message } });
      }
      this.outbox.shift();
      this.#saveOutbox();
      this.state.changed("outbox");
      this.state.changed("messages", { conversation: item.conversation_id });
    }
  }

  /** Sends a refused message again (same client_id: it was never stored). */
  retry(client_id) {
    const item = this.discard(client_id);
    if (!item) return;
    delete item.error;
    this.outbox.push(item);
    this.#saveOutbox();
    this.state.changed("outbox");
    return this.flush();
  }

  discard(client_id) {
    const i = this.failed.findIndex((f) => f.client_id === client_id);
    if (i < 0) return null;
    const [item] = this.failed.splice(i, 1);
    this.state.changed("outbox");
    return item;
  }

  #saveOutbox() {
    sessionStore.setItem("confab.outbox", JSON.stringify(this.outbox));
  }
}
