// Boot: find a session (the sign-in cookie of an earlier visit, the host app's postMessage in
// embedded mode, or the sign-in form), then load the user's world and open the WebSocket.

import { Api, onSignedInElsewhere, resumeSession } from "./api.js";
import { Connection } from "./connection.js";
import { State } from "./state.js";
import { localStore, sessionStore } from "./storage.js";
import { showAuth } from "./views/auth.js";
import { applyTheme } from "./theme.js";
import { showApp } from "./views/app.js";

const root = document.getElementById("app");
const params = new URLSearchParams(location.search);
applyTheme(localStore.getItem("confab.theme"));

let running = null; // {connection, dispose} of the signed-in screen
let showingAuth = false;

function stopRunning() {
  running?.connection.stop();
  running?.dispose?.();
  running = null;
}

function signedOut() {
  // Called by whoever notices first (the sign-out itself, the socket's 4009, a refused refresh).
  if (!running) return;
  stopRunning();
  sessionStore.removeItem("confab.outbox");
  start();
}

async function run(session) {
  showingAuth = false;
  stopRunning();
  const state = new State();
  const api = new Api(session, signedOut);
  const connection = new Connection(api, state, signedOut);
  try {
    state.me = await api.get("/api/v1/me");
  } catch {
    return start();
  }
  const signOut = async (options) => {
    await api.signOut(options);
    signedOut();
  };
  const dispose = showApp(root, { api, state, connection, signOut });
  running = { connection, dispose };
  connection.start();
}

async function start() {
  if (params.has("embed")) return waitForHostToken();
  boot("Loading Confab…");
  const resumed = await resumeSession();
  if (resumed?.offline) {
    boot("Confab cannot be reached. Retrying…");
    return setTimeout(start, 3000);
  }
  if (resumed) return run(resumed);
  showingAuth = true;
  showAuth(root, run);
}

function boot(text) {
  root.replaceChildren(Object.assign(document.createElement("p"), { className: "boot", textContent: text }));
}

// Signed in (or out) in another tab: follow it. Signing out there revokes the session, which
// closes this tab's socket (4009) and brings the sign-in form here as well.
onSignedInElsewhere((signedIn) => { if (signedIn && showingAuth) start(); });

/**
 * Embedded mode: the host app loads `/?embed=1&origin=https://game.example` in an iframe and
 * posts `{type: "confab.token", token}`; only messages from that origin are accepted, and only
 * when the page really is framed by it (the server's `frame-ancestors` says who may frame at all).
 */
function waitForHostToken() {
  const allowed = embedderOrigin();
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
