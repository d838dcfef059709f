// "Me": your profile (picture, display name, bio), your status (online, away, do not disturb, invisible,
// and a status text), desktop notifications, this device's appearance (conversation themes or your
// own colours), and your signed-in sessions — each can be signed out, or all of them at once.

import { clear, dialog, h, modal, name, timeOf, userAvatar } from "../dom.js";
import { enableDesktopNotifications, permission } from "./notify.js";
import { pictureChooser } from "./picture.js";
import { ownColours, setOwnColours } from "../theme.js";

const STATUSES = [
  ["online", "Online", "Others see you online while you are connected."],
  ["away", "Away", "You are around, but slow to answer."],
  ["dnd", "Do not disturb", "No pop-ups; notifications are kept quietly."],
  ["invisible", "Invisible", "Others see you offline; you can still chat."],
];

export function showMe(ctx) {
  const { api, state } = ctx;
  const me = state.me;
  const own = state.ownPresence || { status: "online" };

  const profileError = h("p.error", { role: "alert" });
  // You, as the server now has you: the sidebar, your messages and the member lists follow.
  const changedMe = (user) => {
    state.updateUser(user);
    state.changed("presence");
    state.changed("names");
  };
  const chooser = pictureChooser(ctx, {
    draw: () => userAvatar(state.me, { size: "large" }),
    has: () => !!state.me.avatar_url,
    apply: async (upload_id) => changedMe(await api.put("/api/v1/me/avatar", { upload_id })),
    remove: async () => changedMe(await api.del("/api/v1/me/avatar")),
  });
  const displayName = h("input", { value: me.display_name, maxlength: 64, required: true, autocomplete: "nickname" });
  const bio = h("textarea", { value: me.bio || "", maxlength: 1000, rows: 3 });
  const profile = h("form.section", { "aria-labelledby": "me-profile", on: { submit: async (e) => {
    e.preventDefault();
    profileError.textContent = "";
    const changes = {};
    if (displayName.value.trim() !== me.display_name) changes.display_name = displayName.value.trim();
    if (bio.value !== (me.bio || "")) changes.bio = bio.value;
    if (!Object.keys(changes).length) return say(profileSaved, "Nothing to save.");
    try {
      changedMe(await api.patch("/api/v1/me", changes));
      say(profileSaved, "Profile saved.");
    } catch (err) {
      profileError.textContent = err.message;
    }
  } } },
  h("h3#me-profile", "Profile"),
  h("div.me-card", chooser.picture, h("div.me-who", h("strong", name(me.display_name)), h("p.muted", `@${me.username}`), chooser.controls)),
  h("label", "Display name", displayName),
  h("label", "Bio", bio),
  profileError,
  h("div.actions", h("span.saved", { role: "status" }), h("button", { type: "submit" }, "Save profile")));
  const profileSaved = profile.querySelector(".saved");

  const statusError = h("p.error", { role: "alert" });
  const statusText = h("input", { value: own.status_text || "", maxlength: 140, placeholder: "What are you up to?" });
  const radios = STATUSES.map(([value, label, hint]) => h("label.choice",
    h("input", { type: "radio", name: "status", value, checked: value === own.status }),
    h("span", h("strong", h("span.avatar-dot", { "data-presence": value, "aria-hidden": "true" }), label), h("small", hint))));
  const status = h("form.section", { "aria-labelledby": "me-status", on: { submit: async (e) => {
    e.preventDefault();
    statusError.textContent = "";
    const chosen = status.querySelector("input[name=status]:checked")?.value || "online";
    try {
      state.ownPresence = await api.put("/api/v1/me/presence", { status: chosen, status_text: statusText.value.trim() });
      state.changed("presence");
      say(statusSaved, "Status saved.");
    } catch (err) {
      statusError.textContent = err.message;
    }
  } } },
  h("h3#me-status", "Status"),
  h("fieldset.choices", h("legend.visually-hidden", "Status"), radios),
  h("label", "Status text", statusText),
  statusError,
  h("div.actions", h("span.saved", { role: "status" }), h("button", { type: "submit" }, "Save status")));
  const statusSaved = status.querySelector(".saved");

  const notifyLine = h("p");
  const notifications = h("section.section", { "aria-labelledby": "me-notify" }, h("h3#me-notify", "Desktop notifications"), notifyLine);
  const renderNotify = () => {
    const p = permission();
    if (p === "granted") clear(notifyLine, "On: a message that notifies pops up while Confab is in the background. Each conversation's bell chooses which ones.");
    else if (p === "denied") clear(notifyLine, "Blocked in this browser's site settings; allow notifications there to get them.");
    else if (p === "unsupported") clear(notifyLine, "This browser cannot show desktop notifications.");
    else clear(notifyLine, "Off. ", h("button.secondary", { type: "button", on: { click: async () => { await enableDesktopNotifications(); renderNotify(); } } }, "Turn on desktop notifications"));
  };
  renderNotify();

  // Kept in this browser only (js/storage.js): a choice about this screen, not the account.
  const ownToggle = h("input", { type: "checkbox", role: "switch", checked: ownColours(), "aria-describedby": "me-appearance-hint" });
  ownToggle.addEventListener("change", () => {
    setOwnColours(ownToggle.checked);
    state.changed("appearance");
  });
  const appearance = h("section.section", { "aria-labelledby": "me-appearance" }, h("h3#me-appearance", "Appearance"),
    h("label.switch", ownToggle, h("span", "Use my own colours")),
    h("p.muted#me-appearance-hint", "Conversations keep Confab's light or dark colours on this device, even those that have a theme."));

  const sessionList = h("ul.sessions", h("li.muted", "Loading…"));
  const sessionsError = h("p.error", { role: "alert" });
  const renderSessions = async () => {
    try {
      const { sessions } = await api.get("/api/v1/me/sessions");
      clear(sessionList, sessions.map((s) => h("li.session",
        h("div", h("strong", describeAgent(s.user_agent)), s.current ? h("span.tag", "This browser") : null,
          h("small", ` Signed in ${dateOf(s.created_at)} · last active ${dateOf(s.last_used_at)}${s.ip ? ` · ${s.ip}` : ""}`)),
        s.current ? null : h("button.secondary", { type: "button", "aria-label": `Sign out ${describeAgent(s.user_agent)}, last active ${dateOf(s.last_used_at)}`, on: { click: async () => {
          if (!(await modal("Sign out that session?", `${describeAgent(s.user_agent)} is signed out at once.`, "Sign out", { danger: true }))) return;
          try { await api.del(`/api/v1/me/sessions/${s.id}`); renderSessions(); } catch (err) { sessionsError.textContent = err.message; }
        } } }, "Sign out"))));
    } catch (err) {
      clear(sessionList);
      sessionsError.textContent = err.message;
    }
  };
  const sessions = h("section.section", { "aria-labelledby": "me-sessions" },
    h("h3#me-sessions", "Where you are signed in"), sessionList, sessionsError);
  renderSessions();

  const box = dialog({
    title: "You",
    wide: true,
    className: "me-dialog",
    body: [profile, status, notifications, appearance, sessions],
    focus: displayName,
    actions: [
      { label: "Sign out everywhere", class: "danger", close: false, onClick: async () => {
        if (!(await modal("Sign out everywhere?", "Every browser and device signed in to your account is signed out, this one included.", "Sign out everywhere", { danger: true }))) return;
        try { box.close(); await ctx.signOut({ everywhere: true }); } catch (err) { modal("Sign out everywhere", err.message); }
      } },
      { label: "Sign out", class: "secondary", close: false, onClick: () => { box.close(); ctx.signOut(); } },
      { label: "Close", value: null },
    ],
  });
  box.overlay.setAttribute("aria-label", "Me");
  return box;
}

function say(el, text) {
  el.textContent = text;
  setTimeout(() => { if (el.textContent === text) el.textContent = ""; }, 4000);
}

function dateOf(iso) {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? `today ${timeOf(iso)}` : d.toLocaleDateString();
}

/** "Chrome on Linux" from a user agent, enough to tell devices apart. */
export function describeAgent(ua) {
  if (!ua) return "Unknown device";
  const browser = /Edg\//.test(ua) ? "Edge" : /Firefox\//.test(ua) ? "Firefox" : /Chrom(e|ium)\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : /confab/i.test(ua) ? "Confab client" : "A browser";
  const system = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Windows/.test(ua) ? "Windows" : /Mac OS X/.test(ua) ? "macOS" : /Linux/.test(ua) ? "Linux" : "";
  return system ? `${browser} on ${system}` : browser;
}
