// The look of this device: light or dark (applied at boot by main.js, toggled from the header by
// views/app.js), and whether conversation themes show here at all ("Use my own colours" in the
// Me dialog). The open conversation follows both (views/chat.js, js/themes.js).

import { localStore } from "./storage.js";

const OWN_COLOURS = "confab.ownColours";

export function applyTheme(theme) {
  if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

/** Whether the page is dark now: the choice, or else the system's. */
export function isDark() {
  const chosen = document.documentElement.dataset.theme;
  return chosen ? chosen === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
}

export function toggleTheme() {
  const next = isDark() ? "light" : "dark";
  localStore.setItem("confab.theme", next);
  applyTheme(next);
}

/** Calls `fn` whenever light/dark changes, however it changed (the toggle, the system, another
 * script setting `data-theme`); returns the function that stops it. */
export function watchTheme(fn) {
  const media = matchMedia("(prefers-color-scheme: dark)");
  const observer = new MutationObserver(() => fn());
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  media.addEventListener("change", fn);
  return () => {
    observer.disconnect();
    media.removeEventListener("change", fn);
  };
}

/** "Use my own colours": conversation themes are not shown on this device. */
export function ownColours() {
  return localStore.getItem(OWN_COLOURS) === "1";
}

export function setOwnColours(on) {
  if (on) localStore.setItem(OWN_COLOURS, "1");
  else localStore.removeItem(OWN_COLOURS);
}
