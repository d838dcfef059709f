// Access for everyone: axe-core finds no serious or critical WCAG 2.1 A/AA violation on the main
// screens and dialogs in both themes and both sizes; the keyboard shortcuts work; motion stops
// when the system asks for less; the offline banner says what is going on without blocking.

import assert from "node:assert/strict";
import { base, checkA11y, group, newPage, newUser, openConversation, send, shot, test, api } from "../harness.mjs";

// The colour transitions (120 ms) end before axe measures contrast.
const setTheme = async (page, theme) => {
  await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
  await page.waitForTimeout(300);
};

for (const [label, width, height] of [["desktop", 1440, 900], ["phone", 390, 844]]) {
  test(`${label}: no serious accessibility violations on sign-in, the list, a chat and the dialogs, light and dark`, async () => {
    const { page } = await newPage(`a11y-signin-${width}`, { width, height });
    await page.goto(base());
    await page.getByLabel("Username").waitFor();
    for (const theme of ["light", "dark"]) {
      await setTheme(page, theme);
      await checkA11y(page, `${label} sign-in (${theme})`);
    }
    if (label === "desktop") { await setTheme(page, "light"); await shot(page, "sign-in.png"); }

    const name = `axe${width}`;
    const user = await newUser(name, { width, height });
    await newUser(`${name}b`);
    const c = await group(name, `Axe club ${width}`, [`${name}b`]);
    await api(`${name}b`, "POST", `/api/v1/conversations/${c.id}/messages`, { body: "Hello, can everyone read this?" });
    await user.page.locator(".conversation", { hasText: `Axe club ${width}` }).waitFor();
    for (const theme of ["light", "dark"]) {
      await setTheme(user.page, theme);
      await checkA11y(user.page, `${label} conversation list (${theme})`);
    }
    await openConversation(user, `Axe club ${width}`);
    await send(user, "Loud and clear.");
    await user.page.locator(".message:not(.pending)", { hasText: "Loud and clear." }).waitFor();
    const dialogs = [
      // On a phone the Me button is on the list screen.
      ["Me", async () => { if (label === "phone") await user.page.getByRole("button", { name: "Back" }).click(); await user.page.getByRole("button", { name: /^Me:/ }).click(); }],
      ["Members", () => user.page.getByRole("button", { name: "Members" }).click()],
      ["Conversation settings", () => user.page.getByRole("button", { name: "Conversation settings" }).click()],
      ["Notification level", () => user.page.locator(".chat-header").getByRole("button", { name: /^Notification level:/ }).click()],
      ["Keyboard shortcuts", async () => { await user.page.locator("body").click({ position: { x: 1, y: 1 } }).catch(() => {}); await user.page.keyboard.press("?"); }],
    ];
    for (const theme of ["light", "dark"]) {
      await setTheme(user.page, theme);
      await checkA11y(user.page, `${label} chat (${theme})`);
      for (const [dialogName, open] of dialogs) {
        if (dialogName === "Keyboard shortcuts" && label === "phone") continue; // no keyboard
        await open();
        const dialog = user.page.getByRole("dialog", { name: dialogName, exact: true });
        await dialog.waitFor();
        await user.page.waitForTimeout(250); // the dialog's fade-in is over
        await checkA11y(user.page, `${label} ${dialogName} dialog (${theme})`);
        if (theme === "dark" && dialogName === "Members" && label === "desktop") await shot(user.page, "members-dark.png");
        await user.page.keyboard.press("Escape");
        await dialog.waitFor({ state: "detached" });
        if (dialogName === "Me" && label === "phone") await openConversation(user, `Axe club ${width}`);
      }
    }
    await shot(user.page, label === "desktop" ? "desktop-dark.png" : "phone-chat-dark.png");
    if (label === "phone") {
      await user.page.getByRole("button", { name: "Back" }).click();
      await shot(user.page, "phone-list.png");
    }
  });
}

test("keyboard: Alt+↑/↓ moves between conversations, Alt+Shift+↓ to the next unread, Ctrl+K searches, ? lists the shortcuts", async () => {
  const user = await newUser("shortcuts", { width: 1440, height: 900 });
  await newUser("shortpal");
  // Made oldest first: the list shows the newest on top (Delta, Gamma, Beta, Alpha).
  const made = [];
  for (const title of ["Alpha", "Beta", "Gamma", "Delta"]) made.push(await group("shortpal", `${title} keys`, ["shortcuts"]));
  // All four listed, newest first, before the keys move through them.
  await user.page.waitForFunction(() => [...document.querySelectorAll(".conversation .title")].map((t) => t.textContent.split(" ")[0]).join() === "Delta,Gamma,Beta,Alpha");
  const open = () => user.page.locator(".chat-header h2").textContent();
  const opened = (title) => user.page.locator(".chat-header h2", { hasText: title }).waitFor({ timeout: 5000 });
  await user.page.keyboard.press("Alt+ArrowDown");
  await opened("Delta keys"); // from nothing, the first one
  await user.page.keyboard.press("Alt+ArrowDown");
  await opened("Gamma keys");
  await user.page.keyboard.press("Alt+ArrowUp");
  await opened("Delta keys");
  // An unread message in Alpha (which moves it to the top) and in Beta.
  await api("shortpal", "POST", `/api/v1/conversations/${made[1].id}/messages`, { body: "beta news" });
  await api("shortpal", "POST", `/api/v1/conversations/${made[0].id}/messages`, { body: "alpha news" });
  await user.page.locator(".conversation.unread", { hasText: "Beta keys" }).waitFor();
  await user.page.locator(".conversation.unread", { hasText: "Alpha keys" }).waitFor();
  const changed = (from) => user.page.waitForFunction((t) => document.querySelector(".chat-header h2")?.textContent !== t, from, { timeout: 5000 });
  await user.page.keyboard.press("Alt+Shift+ArrowDown");
  await changed("Delta keys");
  const first = await open();
  await user.page.keyboard.press("Alt+Shift+ArrowDown");
  await changed(first);
  const second = await open();
  assert.deepEqual([first, second].sort(), ["Alpha keys", "Beta keys"], "both unread ones, one after the other");

  await user.page.keyboard.press("Control+k");
  const search = user.page.getByRole("searchbox", { name: "Search conversations" });
  assert.equal(await search.evaluate((el) => el === document.activeElement), true, "Ctrl+K focuses the search");
  await user.page.keyboard.type("gam");
  assert.equal(await user.page.locator(".conversation").count(), 1);
  await user.page.keyboard.press("Enter");
  await user.page.locator(".chat-header h2", { hasText: "Gamma keys" }).waitFor();
  await search.fill("");
  await search.dispatchEvent("input");

  // "?" in the composer is a question mark; outside it, the shortcuts.
  await user.page.getByLabel("Message", { exact: true }).press("?");
  assert.equal(await user.page.getByRole("dialog", { name: "Keyboard shortcuts" }).count(), 0);
  await user.page.getByLabel("Message", { exact: true }).fill("");
  await user.page.locator(".conversations").focus().catch(() => {});
  await user.page.getByRole("button", { name: "Switch theme" }).focus();
  await user.page.keyboard.press("?");
  await user.page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
  await shot(user.page, "shortcuts.png");
  await user.page.keyboard.press("Escape");
});

test("reduced motion: dialogs appear without animation; the offline banner says what works and blocks nothing", async () => {
  const user = await newUser("stillness", { context: { reducedMotion: "reduce" } });
  await user.page.getByRole("button", { name: "New group" }).click();
  const duration = await user.page.locator(".overlay").evaluate((el) => getComputedStyle(el).animationDuration);
  assert.equal(duration, "0s");
  await user.page.keyboard.press("Escape");

  await user.page.routeWebSocket(/\/api\/v1\/ws/, (ws) => ws.close({ code: 1011, reason: "test" }));
  await user.page.reload();
  const banner = user.page.getByRole("status").filter({ hasText: "You are offline" });
  await banner.waitFor({ timeout: 15000 });
  // Non-blocking: the rest of the page still takes clicks.
  await user.page.getByRole("button", { name: "Switch theme" }).click({ timeout: 2000 });
  await checkA11y(user.page, "offline");
  await shot(user.page, "offline.png");
  await user.page.unrouteAll({ behavior: "ignoreErrors" });
});
