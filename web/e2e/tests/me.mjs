// Me and my status: profile and status edited from the page and seen by others, sessions,
// per-conversation notification levels, and desktop notifications asked for politely.

import assert from "node:assert/strict";
import { api, group, newUser, openChatWith, openConversation, send, shot, test } from "../harness.mjs";

const openMe = async (page) => {
  await page.getByRole("button", { name: /^Me:/ }).click();
  return page.getByRole("dialog", { name: "Me", exact: true });
};

test("display name, bio, status and status text are edited in the Me dialog and others see them", async () => {
  const me = await newUser("statusme", { width: 1440, height: 900 });
  const friend = await newUser("statusfriend");
  await openChatWith(friend, "statusme");
  const dialog = await openMe(me.page);
  await dialog.getByLabel("Display name").fill("Stella Status");
  await dialog.getByLabel("Bio").fill("Plays pong at lunch.");
  await dialog.getByRole("button", { name: "Save profile" }).click();
  await dialog.getByText("Profile saved.").waitFor();
  await dialog.getByRole("radio", { name: /Do not disturb/ }).check();
  await dialog.getByLabel("Status text").fill("Deep work until 3");
  await dialog.getByRole("button", { name: "Save status" }).click();
  await dialog.getByText("Status saved.").waitFor();
  await shot(me.page, "me.png");
  await dialog.getByRole("button", { name: "Close" }).click();
  await me.page.locator(".me .name", { hasText: "Stella Status" }).waitFor();

  // The friend sees the status live (do-not-disturb and its text in the header), and the new
  // name once the conversation is read again.
  await friend.page.locator(".chat-header", { hasText: "Deep work until 3" }).waitFor({ timeout: 10000 });
  assert.match(await friend.page.locator(".chat-header").textContent(), /dnd/);
  await friend.page.reload();
  await friend.page.locator(".conversation", { hasText: "Stella Status" }).waitFor({ timeout: 10000 });
  const profile = await api("statusfriend", "GET", `/api/v1/users/${(await api("statusme", "GET", "/api/v1/me")).id}`);
  assert.equal(profile.bio, "Plays pong at lunch.");

  // A refusal says why and changes nothing.
  const again = await openMe(me.page);
  await again.getByLabel("Display name").fill("   ");
  await again.getByRole("button", { name: "Save profile" }).click();
  await again.locator(".error", { hasText: /./ }).first().waitFor();
  assert.equal((await api("statusme", "GET", "/api/v1/me")).display_name, "Stella Status");
});

test("the Me dialog lists sessions and signs out another one", async () => {
  const me = await newUser("sessionme");
  await api("sessionme", "GET", "/api/v1/me"); // a second session: the harness's REST login
  const dialog = await openMe(me.page);
  const rows = dialog.locator(".sessions li");
  await rows.nth(1).waitFor();
  assert.equal(await rows.count(), 2);
  await dialog.locator(".sessions li", { hasText: "This browser" }).waitFor();
  await dialog.locator(".sessions li:not(:has-text('This browser'))").getByRole("button", { name: /^Sign out/ }).click();
  await me.page.getByRole("dialog", { name: "Sign out that session?" }).getByRole("button", { name: "Sign out" }).click();
  await rows.nth(1).waitFor({ state: "detached" });
  await assert.rejects(api("sessionme", "GET", "/api/v1/me"), /401/, "the other session is over");
  await me.page.locator(".connection[data-status=online]").waitFor();
});

test("a conversation's notification level is chosen from its header", async () => {
  const user = await newUser("leveller");
  await newUser("levelfriend");
  const c = await group("levelfriend", "Level club", ["leveller"]);
  await openConversation(user, "Level club");
  const bell = user.page.locator(".chat-header").getByRole("button", { name: "Notification level: All messages" });
  await bell.click();
  const dialog = user.page.getByRole("dialog", { name: "Notification level" });
  await dialog.getByRole("radio", { name: /Mentions and replies/ }).check();
  await dialog.getByRole("button", { name: "Save" }).click();
  await user.page.locator(".chat-header").getByRole("button", { name: "Notification level: Mentions only" }).waitFor();
  const seen = (await api("leveller", "GET", `/api/v1/conversations/${c.id}`)).notification_level;
  assert.equal(seen, "mentions");
  // Muted: no count in the tab title.
  await user.page.locator(".chat-header").getByRole("button", { name: /^Notification level:/ }).click();
  await dialog.getByRole("radio", { name: /Nothing/ }).check();
  await dialog.getByRole("button", { name: "Save" }).click();
  await user.page.locator(".chat-header").getByRole("button", { name: "Notification level: Muted" }).waitFor();
  await user.page.getByRole("button", { name: "New group" }).click();
  await user.page.getByLabel("Group name").fill("Elsewhere");
  await user.page.getByRole("button", { name: "Create" }).click();
  await user.page.locator(".chat-header h2", { hasText: "Elsewhere" }).waitFor();
  await api("levelfriend", "POST", `/api/v1/conversations/${c.id}/messages`, { body: "muted words" });
  await user.page.locator(".conversation.unread", { hasText: "Level club" }).waitFor();
  assert.equal(await user.page.title(), "Elsewhere · Confab", "a muted conversation does not count");
});

// A stand-in for the browser's Notification (headless chromium has no notification UI), and a
// switch for `document.hidden`.
const fakeNotifications = () => {
  let permission = "default";
  window.__asked = 0;
  window.__shown = [];
  window.Notification = class {
    static get permission() { return permission; }
    static async requestPermission() { window.__asked += 1; permission = "granted"; return permission; }
    constructor(title, options) { this.title = title; this.body = options?.body; this.tag = options?.tag; window.__shown.push(this); }
    close() {}
  };
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return Boolean(window.__hidden); } });
};

test("desktop notifications: offered in the page first, asked only after yes, shown while hidden, a click opens the message", async () => {
  const user = await newUser("notified", { init: fakeNotifications });
  await newUser("notifier");
  assert.equal(await user.page.evaluate(() => window.__asked), 0, "nothing asked on page load");
  assert.equal(await user.page.locator(".notify-offer").count(), 0, "no offer on page load");
  const dm = (await api("notifier", "POST", "/api/v1/conversations", { kind: "direct", members: [(await api("notified", "GET", "/api/v1/me")).id] }));
  await api("notifier", "POST", `/api/v1/conversations/${dm.id}/messages`, { body: "first hello" });
  const offer = user.page.getByRole("region", { name: "Desktop notifications" });
  await offer.waitFor({ timeout: 10000 });
  assert.equal(await user.page.evaluate(() => window.__asked), 0, "still not asked: the page asks first");
  await offer.getByRole("button", { name: "Turn on" }).click();
  await user.page.waitForFunction(() => window.__asked === 1);
  await offer.waitFor({ state: "detached" });

  // Visible tab: no pop-up. Hidden tab: one, and a click opens the message's permalink.
  await api("notifier", "POST", `/api/v1/conversations/${dm.id}/messages`, { body: "while you look" });
  await user.page.locator(".conversation", { hasText: "while you look" }).waitFor();
  await user.page.evaluate(() => { window.__hidden = true; });
  const m = await api("notifier", "POST", `/api/v1/conversations/${dm.id}/messages`, { body: "while you are away" });
  await user.page.waitForFunction(() => window.__shown.length === 1, null, { timeout: 10000 });
  const shown = await user.page.evaluate(() => ({ title: window.__shown[0].title, body: window.__shown[0].body }));
  assert.deepEqual(shown, { title: "notifier", body: "while you are away" });
  await user.page.evaluate(() => { window.__hidden = false; window.__shown[0].onclick(); });
  await user.page.waitForFunction((h) => location.hash === h, `#/c/${dm.id}/${m.seq}`);
  await user.page.locator(".chat-header h2", { hasText: "notifier" }).waitFor();
  // My own messages never pop up.
  await user.page.evaluate(() => { window.__hidden = true; });
  await send(user, "my own words");
  await user.page.waitForTimeout(500);
  assert.equal(await user.page.evaluate(() => window.__shown.length), 1);
});
