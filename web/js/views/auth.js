// Sign in or create an account. The session is kept (in an HttpOnly cookie the page cannot read)
// unless the browser refuses cookies, which the form then says.

import { signIn } from "../api.js";
import { clear, h } from "../dom.js";
import { persistent } from "../storage.js";

export function showAuth(root, onSignedIn) {
  const error = h("p.error", { role: "alert" });
  const username = h("input", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32, autocapitalize: "none", spellcheck: "false" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, minlength: 10, "aria-describedby": "password-hint" });
  const buttons = [];
  const submit = async (kind) => {
    error.textContent = "";
    if (!username.value.trim() || !password.value) {
      error.textContent = "Enter a username and a password.";
      (username.value.trim() ? password : username).focus();
      return;
    }
    for (const b of buttons) b.disabled = true;
    try {
      onSignedIn(await signIn(kind, username.value.trim(), password.value));
    } catch (e) {
      error.textContent = e.message;
      for (const b of buttons) b.disabled = false;
    }
  };
  buttons.push(h("button", { type: "submit" }, "Sign in"),
    h("button.secondary", { type: "button", on: { click: () => submit("register") } }, "Create account"));
  const form = h("form.auth", { "aria-labelledby": "auth-title", novalidate: true, on: { submit: (e) => { e.preventDefault(); submit("login"); } } },
    h("h1#auth-title", h("span.logo", { "aria-hidden": "true" }, "💬"), "Confab"),
    h("p.muted", "Sign in, or create an account with a new username."),
    h("label", "Username", username),
    h("label", "Password", password),
    h("small#password-hint", "At least 10 characters for a new account."),
    error,
    h("div.actions", buttons[1], buttons[0]),
    persistent ? h("p.muted", h("small", "You stay signed in on this browser until you sign out.")) : h("p.notice", { role: "note" }, "This browser does not let Confab keep your sign-in: reloading the page signs you out."));
  clear(root, h("main.auth-page", form));
  username.focus();
}
