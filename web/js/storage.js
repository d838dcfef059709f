// Web storage that may be missing: in a cross-site iframe the browser may partition or refuse it,
// and merely reading `window.localStorage` then throws. Each store falls back to memory, and
// `persistent` says whether the session outlives the page (the UI says so when it does not).

function memory() {
  const map = new Map();
  return {
    getItem: (key) => (map.has(key) ? map.get(key) : null),
    setItem: (key, value) => { map.set(key, String(value)); },
    removeItem: (key) => { map.delete(key); },
  };
}

function open(kind) {
  try {
    const store = window[kind];
    const probe = "confab.probe";
    store.setItem(probe, "1");
    store.removeItem(probe);
    return { store, ok: true };
  } catch {
    return { store: memory(), ok: false };
  }
}

const local = open("localStorage");
const session = open("sessionStorage");

/** Survives reloads (the theme, choices like "not now" for desktop notifications). */
export const localStore = local.store;
/** Per tab (the outbox). */
export const sessionStore = session.store;
/** Whether the browser keeps the sign-in cookie (the refresh token, HttpOnly): refused cookies,
 * or refused storage (a cross-site frame, where cookies are refused too), mean the session lives
 * only in this page and a reload signs out. */
export const cookies = typeof navigator !== "undefined" && navigator.cookieEnabled && session.ok;
export const persistent = cookies && local.ok;
