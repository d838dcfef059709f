// REST calls with the access token, and the session behind it.
//
// The access token lives in memory only (this object). The refresh token lives where no script
// can read it: the server sets it as an HttpOnly, SameSite=Strict cookie scoped to
// /api/v1/auth when a request carries `X-Confab-Client: web`, and accepts it back on refresh and
// logout only with that header (a cross-site form cannot send one). A new tab or a restarted
// browser resumes by refreshing with the cookie. Where the browser refuses cookies, the refresh
// token stays in memory and the session ends with the page.

import { localStore, cookies } from "./storage.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The `ApiError` a refusal carries (`{"error": {code, message}}`, or only its status). */
export async function errorOf(response) {
  const error = (await response.json().catch(() => null))?.error || {};
  return new ApiError(response.status, error.code || "unknown", error.message || response.statusText);
}

const WEB = { "X-Confab-Client": "web" };
/** Set while a session is kept in the cookie, so that a visit to the sign-in page does not ask
 * the server for a session that does not exist (and other tabs hear of sign-in and sign-out). */
const SIGNED_IN = "confab.signedIn";

export class Api {
  #refreshing = null;

  /** `session`: `{access_token, refresh_token?, cookie?}`; `cookie` when the refresh token is
   * in the cookie, `refresh_token` when the browser refused cookies; neither for a host app's
   * token (embedded mode), which the host app renews. */
  constructor(session, onSignedOut) {
    this.session = session;
    this.onSignedOut = onSignedOut;
  }

  /** Kept for the WebSocket (connection.js reads `api.tokens.access_token`). */
  get tokens() {
    return this.session;
  }

  async call(method, path, body) {
    const json = body === undefined ? {} : { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const response = await this.request(method, path, json);
    if (response.status === 204) return null;
    if (!response.ok) throw await errorOf(response);
    return response.json().catch(() => null);
  }

  /** Any request with the access token (refreshed once on a 401), answered as the raw
   * `Response`: what uploads.js sends is no JSON. `init` is fetch's (headers, body, signal). */
  async request(method, path, { headers = {}, ...init } = {}) {
    const send = () => fetch(path, { ...init, method, headers: { ...headers, Authorization: `Bearer ${this.session.access_token}` } });
    let response = await send();
    if (response.status === 401 && (this.session.cookie || this.session.refresh_token)) {
      if (await this.refresh()) response = await send();
    }
    if (response.status === 401) this.onSignedOut?.();
    return response;
  }

  /** A new access token; several callers in this tab share one refresh. */
  refresh() {
    this.#refreshing ??= refreshSession(this.session).then((fresh) => {
      this.#refreshing = null;
      if (!fresh) return false;
      Object.assign(this.session, fresh);
      return true;
    });
    return this.#refreshing;
  }

  /** Ends this session (here and on the server); `everywhere` ends every session of the user. */
  async signOut({ everywhere = false } = {}) {
    if (everywhere) {
      // Through call(): an expired access token is refreshed first. On failure nothing changed,
      // and the error says so (the caller shows it).
      await this.call("DELETE", "/api/v1/me/sessions");
      forgetSignedIn();
      return;
    }
    forgetSignedIn();
    // With an expired access token the server ends the session the cookie names instead.
    const headers = { Authorization: `Bearer ${this.session.access_token}`, ...WEB };
    await fetch("/api/v1/auth/logout", { method: "POST", headers }).catch(() => null);
  }

  get = (path) => this.call("GET", path);
  post = (path, body) => this.call("POST", path, body ?? {});
  put = (path, body) => this.call("PUT", path, body);
  patch = (path, body) => this.call("PATCH", path, body);
  del = (path) => this.call("DELETE", path);
}

/**
 * Runs `fn` while no other tab of this browser refreshes. A refresh token works once: two tabs
 * refreshing with the same cookie at once would look like a stolen token and revoke the session.
 * Serialized, the second tab sends the cookie the first one just received. Web Locks exist in
 * secure contexts (https, localhost); elsewhere a lease in localStorage does the same, best
 * effort.
 */
export function withRefreshLock(fn) {
  if (globalThis.navigator?.locks?.request) return navigator.locks.request("confab.refresh", fn);
  return lease(fn);
}

const LEASE = "confab.refreshLease";

async function lease(fn) {
  const me = Math.random().toString(36).slice(2);
  for (let tries = 0; tries < 60; tries++) {
    let held = null;
    try { held = JSON.parse(localStore.getItem(LEASE)); } catch { /* none */ }
    if (!held || held.until < Date.now()) {
      localStore.setItem(LEASE, JSON.stringify({ me, until: Date.now() + 5000 }));
      // Whoever wrote last holds it; the other waits.
      await new Promise((r) => setTimeout(r, 30));
      try { held = JSON.parse(localStore.getItem(LEASE)); } catch { held = null; }
      if (held?.me === me) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  try {
    return await fn();
  } finally {
    try { if (JSON.parse(localStore.getItem(LEASE))?.me === me) localStore.removeItem(LEASE); } catch { /* gone */ }
  }
}

/** Exchanges the refresh token (cookie or memory) for a new session; null when it is over. */
export function refreshSession(session) {
  return withRefreshLock(async () => {
    const headers = { "Content-Type": "application/json", ...(session.cookie ? WEB : {}) };
    const body = session.cookie ? {} : { refresh_token: session.refresh_token };
    const response = await fetch("/api/v1/auth/refresh", { method: "POST", headers, body: JSON.stringify(body) }).catch(() => null);
    if (!response) return { offline: true };
    if (!response.ok) {
      if (session.cookie) forgetSignedIn();
      return null;
    }
    const fresh = await response.json();
    return { access_token: fresh.access_token, refresh_token: fresh.refresh_token, cookie: session.cookie, user: fresh.user };
  }).then((fresh) => (fresh?.offline ? null : fresh));
}

/** The session the cookie keeps, if this browser signed in before: a new tab or a restarted
 * browser picks it up. `null` when there is none; `{offline: true}` when the server cannot be
 * reached (the sign-in form would not help then). */
export async function resumeSession() {
  if (!cookies || localStore.getItem(SIGNED_IN) !== "1") return null;
  return withRefreshLock(async () => {
    const response = await fetch("/api/v1/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json", ...WEB }, body: "{}" }).catch(() => null);
    if (!response) return { offline: true };
    if (!response.ok) {
      forgetSignedIn();
      return null;
    }
    const fresh = await response.json();
    return { access_token: fresh.access_token, cookie: true, user: fresh.user };
  });
}

export function forgetSignedIn() {
  localStore.removeItem(SIGNED_IN);
}

/** Listens for sign-in and sign-out in other tabs of this browser. */
export function onSignedInElsewhere(fn) {
  addEventListener("storage", (e) => { if (e.key === SIGNED_IN) fn(e.newValue === "1"); });
}

export async function signIn(kind, username, password) {
  const response = await fetch(`/api/v1/auth/${kind}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...(cookies ? WEB : {}) },
    body: JSON.stringify({ username, password }),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error?.code, data?.error?.message || "sign-in failed");
  if (cookies) localStore.setItem(SIGNED_IN, "1");
  return { access_token: data.access_token, refresh_token: data.refresh_token, cookie: cookies, user: data.user };
}
