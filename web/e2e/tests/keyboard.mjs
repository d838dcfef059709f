// Dialogs and the composer work from the keyboard; opening conversations leaks nothing.

import assert from "node:assert/strict";
import { api, group, messageText, newUser, openChatWith, openConversation, send, test } from "../harness.mjs";

const focused = (page) => page.evaluate(() => document.activeElement?.getAttribute("aria-label") || document.activeElement?.textContent);

test("Escape closes every dialog, Tab stays inside it, focus returns to where it was", async () => {
  const user = await newUser("keys");
  await newUser("keyfriend");
  await group("keys", "Key club", ["keyfriend"]);
  await openConversation(user, "Key club");
  await send(user, "edit me");
  await user.page.locator(".message:not(.pending)", { hasText: "edit me" }).waitFor();
  const { page } = user;
  const openers = [
    ["New chat", () => page.getByRole("button", { name: "New chat" })],
    ["New group", () => page.getByRole("button", { name: "New group" })],
    ["Contacts", () => page.getByRole("button", { name: "Contacts" })],
    ["Notifications", () => page.getByRole("button", { name: "Notifications", exact: true })],
    ["Members", () => page.getByRole("button", { name: "Members" })],
    // A message's actions: its "More actions" button opens the menu, whose item opens the dialog.
    ["Edit message", () => page.locator(".message", { hasText: "edit me" }).getByRole("button", { name: "More actions" }), "Edit"],
    ["Delete this message?", () => page.locator(".message", { hasText: "edit me" }).getByRole("button", { name: "More actions" }), "Delete"],
    ["Profile", () => page.locator(".message .author", { hasText: "keys" }).first()],
  ];
  for (const [name, opener, menuItem] of openers) {
    if (menuItem) await page.locator(".message", { hasText: "edit me" }).hover();
    await opener().focus();
    const before = await focused(page);
    await page.keyboard.press("Enter");
    if (menuItem) {
      await page.getByRole("menuitem", { name: menuItem, exact: true }).focus();
      await page.keyboard.press("Enter");
    }
    const dialog = page.getByRole("dialog", { name });
    await dialog.waitFor();
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press(i % 3 === 2 ? "Shift+Tab" : "Tab");
      assert.ok(await dialog.evaluate((d) => d.contains(document.activeElement)), `${name}: focus stays in the dialog`);
    }
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    assert.equal(await focused(page), before, `${name}: focus returns to its opener`);
  }
  assert.equal(await messageText(user, "edit me").count(), 1, "Escape on the delete dialog deleted nothing");
});

test("a mention is chosen with the arrows and Enter, not sent", async () => {
  const user = await newUser("mentioner");
  await newUser("cara");
  await newUser("carl");
  await group("mentioner", "Mention club", ["cara", "carl"]);
  await openConversation(user, "Mention club");
  // The group is made empty and then filled: suggestions come from the members the page knows.
  await user.page.locator(".chat-header", { hasText: "3 members" }).waitFor();
  const box = user.page.getByLabel("Message", { exact: true });
  await box.pressSequentially("hi @ca");
  const options = user.page.getByRole("option");
  await options.nth(1).waitFor();
  const second = (await options.nth(1).textContent()).split(" ")[0];
  await box.press("ArrowDown");
  assert.equal(await options.nth(1).getAttribute("aria-selected"), "true");
  await box.press("Enter");
  assert.equal(await box.inputValue(), `hi ${second} `, "Enter took the highlighted name");
  assert.equal(await user.page.locator(".message", { hasText: "@ca" }).count(), 0, "nothing was sent");
  await box.pressSequentially("and @car");
  await options.first().waitFor();
  await box.press("Escape");
  await options.first().waitFor({ state: "hidden" });
  await box.press("Enter");
  await messageText(user, `hi ${second} and @car`).waitFor();
});

test("opening conversations again and again leaves one listener and one timer, and hidden ones stay unread", async () => {
  // Counts visibilitychange listeners and live intervals as the page adds and removes them.
  const init = () => {
    const listeners = new Set();
    const add = document.addEventListener.bind(document);
    const remove = document.removeEventListener.bind(document);
    document.addEventListener = (type, fn, opts) => { if (type === "visibilitychange") listeners.add(fn); return add(type, fn, opts); };
    document.removeEventListener = (type, fn, opts) => { if (type === "visibilitychange") listeners.delete(fn); return remove(type, fn, opts); };
    const timers = new Set();
    const set = window.setInterval.bind(window);
    const clear = window.clearInterval.bind(window);
    window.setInterval = (...args) => { const t = set(...args); timers.add(t); return t; };
    window.clearInterval = (t) => { timers.delete(t); return clear(t); };
    window.__leaks = () => ({ listeners: listeners.size, timers: timers.size });
  };
  const user = await newUser("reopener", { init });
  await newUser("other1");
  await newUser("other2");
  await openChatWith(user, "other1");
  await openChatWith(user, "other2");
  for (let i = 0; i < 4; i++) {
    await openConversation(user, "other1");
    await openConversation(user, "other2");
  }
  assert.deepEqual(await user.page.evaluate(() => window.__leaks()), { listeners: 1, timers: 1 }, "only the open conversation's");
  // other1 writes while other2 is open; the tab is hidden and shown again: other1 stays unread.
  const dm = (await api("other1", "GET", "/api/v1/conversations")).conversations[0];
  await api("other1", "POST", `/api/v1/conversations/${dm.id}/messages`, { body: "unread for now" });
  const badge = user.page.locator(".conversation", { hasText: "other1" }).locator(".badge");
  await badge.waitFor();
  await user.page.evaluate(() => {
    for (const hidden of [true, false]) {
      Object.defineProperty(document, "hidden", { value: hidden, configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    }
  });
  await user.page.waitForTimeout(500);
  assert.equal(await badge.textContent(), "1", "still unread in the sidebar");
  const mine = (await api("reopener", "GET", "/api/v1/conversations")).conversations.find((c) => c.id === dm.id);
  assert.equal(mine.unread_count, 1, "not marked read on the server");
});
