// Sign in or create an account.

import { signIn } from "../api.js";
import { clear, h } from "../dom.js";

export function showAuth(root, onSignedIn) {
  const error = h("p.error", { role: "alert" });
  const username = h("input", { name: "username", autocomplete: "username", required: true, minlength: 3, maxlength: 32, "aria-label": "Username" });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, minlength: 10, "aria-label": "Password" });
  const submit = async (kind) => {
    error.textContent = "";
    try {
      onSignedIn(await signIn(kind, username.value.trim(), password.value));
    } catch (e) {
      error.textContent = e.message;
    }
  };
  const form = h("form.auth", { on: { submit: (e) => { e.preventDefault(); submit("login"); } } },
    h("h1", "Confab"),
    h("label", "Username", username),
    h("label", "Password", password),
    error,
    h("div.actions",
      h("button", { type: "submit" }, "Sign in"),
      h("button.secondary", { type: "button", on: { click: () => submit("register") } }, "Create account")));
  clear(root, h("main.auth-page", form));
  username.focus();
}
