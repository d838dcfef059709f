// Addresses in the URL's fragment, so that every conversation and message has one, Back and
// Forward move between conversations, and a reload keeps the place:
//   #/c/<id>          a conversation
//   #/c/<id>/<seq>    a message in it (a permalink)
//   #/ (or nothing)   the conversation list
// The fragment never reaches the server, and nothing in it is trusted: ids are digits or ignored.

const ROUTE = /^#\/c\/(\d{1,20})(?:\/(\d{1,20}))?\/?$/;

export function parseRoute(hash = location.hash) {
  const m = ROUTE.exec(hash);
  return m ? { id: m[1], seq: m[2] ? Number(m[2]) : null } : { id: null, seq: null };
}

export function routeHash(id, seq = null) {
  return id ? `#/c/${id}${seq ? `/${seq}` : ""}` : "#/";
}

/** A shareable link to a message (or a conversation). */
export function permalink(id, seq = null) {
  return `${location.origin}${location.pathname}${location.search}${routeHash(id, seq)}`;
}

/** Goes to a place: a new history entry (Back returns), or `replace` the current one. */
export function navigate(id, seq = null, { replace = false } = {}) {
  const hash = routeHash(id, seq);
  if (location.hash === hash || (!location.hash && hash === "#/" && replace)) return;
  if (replace) {
    history.replaceState(history.state, "", hash);
    dispatchEvent(new HashChangeEvent("hashchange"));
  } else {
    location.hash = hash;
  }
}

/** Calls `fn(route)` on every change of place; returns the unsubscribe. */
export function onRoute(fn) {
  const handler = () => fn(parseRoute());
  addEventListener("hashchange", handler);
  return () => removeEventListener("hashchange", handler);
}
