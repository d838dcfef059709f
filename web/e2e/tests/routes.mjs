// Every conversation and message has an address: Back and Forward move between conversations,
// a reload keeps the place, a permalink opens its message, and the tab title counts unread.

import assert from "node:assert/strict";
import { api, base, group, newTab, newUser, openConversation, shot, test } from "../harness.mjs";

const header = (page, title) => page.locator(".chat-header h2", { hasText: title }).waitFor();
const hash = (page) => page.evaluate(() => location.hash);

for (const [label, width, height] of [["desktop", 1440, 900], ["phone", 390, 844]]) {
  test(`${label}: conversations have addresses; Back, Forward and reload keep the place`, async () => {
    const name = `router${width}`;
    const user = await newUser(name, { width, height });
    await newUser(`${name}b`);
    const a = await group(name, `Alpha ${width}`, [`${name}b`]);
    const b = await group(name, `Beta ${width}`, [`${name}b`]);
    await openConversation(user, `Alpha ${width}`);
    assert.equal(await hash(user.page), `#/c/${a.id}`);
    if (label === "phone") {
      await user.page.getByRole("button", { name: "Back" }).click();
      await user.page.locator(".conversations").waitFor();
    }
    await openConversation(user, `Beta ${width}`);
    assert.equal(await hash(user.page), `#/c/${b.id}`);
    await user.page.goBack();
    if (label === "phone") {
      // Back from a chat on a phone is the list, as in every phone app; once more is the chat before.
      await user.page.locator(".conversations").waitFor();
      await user.page.goBack();
    }
    await header(user.page, `Alpha ${width}`);
    assert.equal(await hash(user.page), `#/c/${a.id}`);
    await user.page.goForward();
    if (label === "phone") await user.page.goForward();
    await header(user.page, `Beta ${width}`);
    await user.page.reload();
    await header(user.page, `Beta ${width}`);
    if (label === "desktop") assert.equal(await user.page.locator(".conversation[aria-current=true]").count(), 1, "the list marks it");
    await shot(user.page, `route-${label}.png`);
  });
}

test("a permalink opens the conversation at its message, also in a new tab", async () => {
  const user = await newUser("permalinker", { width: 1440, height: 900 });
  await newUser("permalinked");
  const c = await group("permalinker", "Permalinks", ["permalinked"]);
  let target = null;
  for (let i = 1; i <= 30; i++) {
    const m = await api("permalinked", "POST", `/api/v1/conversations/${c.id}/messages`, { body: `line ${i}` });
    if (i === 3) target = m;
  }
  const tab = await newTab(user);
  await tab.page.goto(`${base()}/#/c/${c.id}/${target.seq}`);
  await header(tab.page, "Permalinks");
  const message = tab.page.locator(`[data-seq="${target.seq}"]`);
  await message.waitFor();
  // It is scrolled into view, away from the bottom where the conversation would otherwise open.
  await tab.page.waitForFunction((seq) => {
    const el = document.querySelector(`[data-seq="${seq}"]`);
    const list = el?.closest("ol, ul, [role=log], .messages") || document.documentElement;
    const box = el?.getBoundingClientRect();
    const frame = list.getBoundingClientRect();
    return box && box.top >= frame.top - 1 && box.bottom <= frame.bottom + 1;
  }, target.seq, { timeout: 5000 });
  assert.equal(await hash(tab.page), `#/c/${c.id}/${target.seq}`);
});

test("an address that names no conversation of yours says so and falls back to the list", async () => {
  const user = await newUser("wanderer");
  await newUser("owner2");
  const other = await group("owner2", "Not yours", []);
  await user.page.goto(`${base()}/#/c/${other.id}`);
  await user.page.getByText("That conversation is not available").waitFor({ timeout: 15000 });
  assert.equal(await hash(user.page), "#/");
  await user.page.goto(`${base()}/#/c/<script>`);
  await user.page.locator(".connection[data-status=online]").waitFor();
  assert.equal(await user.page.locator(".chat-header").count(), 0, "nothing opened");
});

test("the tab title counts unread messages, and reading them clears it", async () => {
  const reader = await newUser("titled");
  await newUser("titler");
  await group("titler", "Quiet room", ["titled"]);
  const busy = await group("titler", "Busy room", ["titled"]);
  await openConversation(reader, "Quiet room");
  for (const body of ["one", "two", "three"]) await api("titler", "POST", `/api/v1/conversations/${busy.id}/messages`, { body });
  await reader.page.waitForFunction(() => document.title.startsWith("(3) "), null, { timeout: 10000 });
  assert.match(await reader.page.title(), /^\(3\) Quiet room · Confab$/);
  await openConversation(reader, "Busy room");
  await reader.page.waitForFunction(() => document.title === "Busy room · Confab", null, { timeout: 10000 });
});
