// Boot: find a token (a previous sign-in in this tab, the host app's postMessage in embedded
// mode, or the sign-in form), then load the user's world and open the WebSocket.

import { Api, forgetTokens, loadTokens, saveTokens } from "./api.js";
import { Connection } from "./connection.js";
import { State } from "./state.js";
import { localStore, sessionStore } from "./storage.js";
import { showAuth } from "./views/auth.js";
import { applyTheme } from "./theme.js";
import { showApp } from "./views/app.js";

const root = document.getElementById("app");
const params = new URLSearchParams(location.search);
applyTheme(localStore.getItem("confab.theme"));

function signOut(connection) {
  connection?.stop();
  forgetTokens();
  sessionStore.removeItem("confab.outbox");
  start();
}

async function run(tokens) {
  saveTokens(tokens);
  const state = new State();
  let connection = null;
  const api = new Api(tokens, () => signOut(connection));
  connection = new Connection(api, state, () => signOut(connection));
  try {
    state.me = await api.get("/api/v1/me");
  } catch {
    return signOut(connection);
  }
  showApp(root, { api, state, connection, signOut: () => { api.post("/api/v1/auth/logout").catch(() => {}); signOut(connection); } });
  connection.start();
}

function start() {
  const saved = loadTokens();
  if (saved?.access_token) return run(saved);
  if (params.has("embed")) return waitForHostToken();
  showAuth(root, run);
}

/**
 * Embedded mode: the host app loads `/?embed=1&origin=https://game.example` in an iframe and
 * posts `{type: "confab.token", token}`; only messages from that origin are accepted, and only
 * when the page really is framed by it (the server's `frame-ancestors` says who may frame at all).
 */
function waitForHostToken() {
  const allowed = embedderOrigin();
  const boot = (text) => root.replaceChildren(Object.assign(document.createElement("p"), { className: "boot", textContent: text }));
  const ancestor = location.ancestorOrigins?.[0];
  if (!allowed || window.parent === window || (ancestor && ancestor !== allowed)) {
    return boot("Confab cannot start here: this page is not embedded by the site named in its address.");
  }
  boot("Waiting for sign-in…");
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || event.origin !== allowed) return;
    if (event.data?.type === "confab.token" && typeof event.data.token === "string") run({ access_token: event.data.token });
  });
  window.parent.postMessage({ type: "confab.ready" }, allowed);
}

/** The `origin` parameter, if it is one (`scheme://host[:port]` and nothing else). */
function embedderOrigin() {
  const value = params.get("origin");
  try {
    const url = new URL(value);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === value ? value : null;
  } catch {
    return null;
  }
}

start();
