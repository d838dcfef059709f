// REST calls with the access token, refreshing it once when it expires.

import { sessionStore } from "./storage.js";

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class Api {
  constructor(tokens, onSignedOut) {
    this.tokens = tokens; // {access_token, refresh_token?}
    this.onSignedOut = onSignedOut;
  }

  async call(method, path, body) {
    let response = await this.#send(method, path, body);
    if (response.status === 401 && this.tokens.refresh_token) {
      if (await this.#refresh()) response = await this.#send(method, path, body);
    }
    if (response.status === 401) this.onSignedOut?.();
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = data?.error || {};
      throw new ApiError(response.status, error.code || "unknown", error.message || response.statusText);
    }
    return data;
  }

  #send(method, path, body) {
    const headers = { Authorization: `Bearer ${this.tokens.access_token}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  async #refresh() {
    const response = await fetch("/api/v1/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: this.tokens.refresh_token }),
    });
    if (!response.ok) return false;
    const fresh = await response.json();
    this.tokens.access_token = fresh.access_token;
    this.tokens.refresh_token = fresh.refresh_token;
    saveTokens(this.tokens);
    return true;
  }

  get = (path) => this.call("GET", path);
  post = (path, body) => this.call("POST", path, body ?? {});
  put = (path, body) => this.call("PUT", path, body);
  patch = (path, body) => this.call("PATCH", path, body);
  del = (path) => this.call("DELETE", path);
}

/** Tokens live in sessionStorage (per tab), never in cookies. */
export function saveTokens(tokens) {
  sessionStore.setItem("confab.tokens", JSON.stringify(tokens));
}

export function loadTokens() {
  try { return JSON.parse(sessionStore.getItem("confab.tokens")); } catch { return null; }
}

export function forgetTokens() {
  sessionStore.removeItem("confab.tokens");
}

export async function signIn(kind, username, password) {
  const response = await fetch(`/api/v1/auth/${kind}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.error?.code, data?.error?.message || "sign-in failed");
  return data;
}
