// Every way out of Confab goes through the leaving-site warning; link detection keeps URLs whole.

import assert from "node:assert/strict";
import { newUser, openChatWith, send, test } from "../harness.mjs";

test("middle-click on a link and the profile link ask before leaving", async () => {
  const user = await newUser("clicker");
  await newUser("linker");
  await openChatWith(user, "linker");
  await send(user, "go to https://game.example/pong now");
  const link = user.page.locator(".messages a", { hasText: "https://game.example/pong" });
  await link.waitFor();
  const opened = [];
  user.context.on("page", (p) => opened.push(p.url()));
  const warning = user.page.getByRole("dialog", { name: "You are leaving Confab" });
  for (const how of [{ button: "middle" }, { modifiers: ["ControlOrMeta"] }, { modifiers: ["Shift"] }]) {
    await link.click(how);
    await warning.waitFor();
    await warning.getByRole("button", { name: "Cancel" }).click();
    await warning.waitFor({ state: "detached" });
  }
  // The profile link in the card (the server has a profile link template).
  await user.page.locator(".chat-header h2 button").click();
  const profile = user.page.getByRole("dialog", { name: "Profile" }).getByRole("link", { name: "Profile" });
  for (const how of [{}, { button: "middle" }]) {
    await profile.click(how);
    await warning.waitFor();
    await warning.getByRole("button", { name: "Cancel" }).click();
    await warning.waitFor({ state: "detached" });
  }
  await user.page.waitForTimeout(300);
  assert.deepEqual(opened, [], "no tab opened without the warning");
});

test("links keep their balanced parentheses and drop the sentence's", async () => {
  const user = await newUser("parens");
  await openChatWith(user, "linker");
  await send(user, "(see https://example.com/a_(b)) and https://en.wikipedia.org/wiki/Foo_(bar). Or (https://example.org/x).");
  await user.page.locator(".message:not(.pending) a").first().waitFor();
  const links = await user.page.locator(".messages a").allTextContents();
  assert.deepEqual(links, ["https://example.com/a_(b)", "https://en.wikipedia.org/wiki/Foo_(bar)", "https://example.org/x"]);
  const text = await user.page.locator(".message:not(.pending) .body").last().textContent();
  assert.equal(text, "(see https://example.com/a_(b)) and https://en.wikipedia.org/wiki/Foo_(bar). Or (https://example.org/x).", "no text lost");
});
