// The first browser tests: chatting live, groups, going offline and back, hostile text, phones.

import { join } from "node:path";
import assert from "node:assert/strict";
import { XSS, api, messageText, newUser, openChatWith, send, shots, base, startServer, stopServer, test } from "../harness.mjs";

test("two users chat live both ways, reply and react", async () => {
  const alice = await newUser("alice");
  const bob = await newUser("bob");
  await openChatWith(alice, "bob");
  await send(alice, "Hello Bob! Pong tonight? https://game.example/pong");
  await bob.page.locator(".conversation", { hasText: "alice" }).click();
  await messageText(bob, "Hello Bob!").waitFor();
  // Message actions show on hover.
  await bob.page.locator(".message", { hasText: "Hello Bob!" }).hover();
  await bob.page.locator(".message", { hasText: "Hello Bob!" }).getByRole("button", { name: "Reply" }).click();
  await send(bob, "Sure, 8pm");
  await messageText(alice, "Sure, 8pm").waitFor();
  await alice.page.locator(".message", { hasText: "Sure, 8pm" }).locator(".quote", { hasText: "Hello Bob!" }).waitFor();
  await alice.page.locator(".message", { hasText: "Sure, 8pm" }).hover();
  await alice.page.locator(".message", { hasText: "Sure, 8pm" }).getByRole("button", { name: "React 👍" }).click();
  await bob.page.locator(".reaction", { hasText: "👍 1" }).waitFor();
  await bob.page.locator(".seen").waitFor({ timeout: 10000 }).catch(() => {});
  // Links go through the leaving-site warning, never straight out.
  await alice.page.locator(".messages a", { hasText: "https://game.example/pong" }).click();
  await alice.page.getByRole("dialog", { name: "You are leaving Confab" }).waitFor();
  await alice.page.screenshot({ path: join(shots, "leaving-warning.png") });
  await alice.page.getByRole("button", { name: "Cancel" }).click();
  await alice.page.screenshot({ path: join(shots, "chat.png") });
  await bob.page.screenshot({ path: join(shots, "chat-bob.png") });
  await alice.context.close();
  await bob.context.close();
});

test("a group with three users", async () => {
  const carol = await newUser("carol");
  const dave = await newUser("dave");
  const erin = await newUser("erin");
  await carol.page.getByRole("button", { name: "New group" }).click();
  await carol.page.getByLabel("Group name").fill("Pong club");
  await carol.page.getByRole("button", { name: "Create" }).click();
  for (const name of ["dave", "erin"]) {
    await carol.page.getByRole("button", { name: "Members" }).click();
    await carol.page.getByRole("button", { name: "Add members" }).click();
    await carol.page.getByLabel("Search users").fill(name);
    await carol.page.getByRole("checkbox", { name: new RegExp(`@${name}$`) }).check();
    await carol.page.getByRole("button", { name: "Add", exact: true }).click();
    await carol.page.getByRole("dialog", { name: "Members" }).waitFor({ state: "detached" });
    await carol.page.locator(".system", { hasText: `added ${name}` }).waitFor();
  }
  await send(carol, "Welcome to the club, @dave and @erin");
  for (const user of [dave, erin]) {
    await user.page.locator(".conversation", { hasText: "Pong club" }).click();
    await messageText(user, "Welcome to the club").waitFor();
  }
  await send(dave, "Thanks!");
  await messageText(erin, "Thanks!").waitFor();
  await messageText(carol, "Thanks!").waitFor();
  await carol.page.screenshot({ path: join(shots, "group.png") });
  for (const u of [carol, dave, erin]) await u.context.close();
});

test("offline, then reconnect: missed messages appear once, queued ones are sent once", async () => {
  const frank = await newUser("frank");
  const gina = await newUser("gina");
  await openChatWith(frank, "gina");
  await send(frank, "before the outage");
  await gina.page.locator(".conversation", { hasText: "frank" }).click();
  await messageText(gina, "before the outage").waitFor();

  const port = new URL(base()).port;
  await stopServer();
  await gina.page.locator(".connection[data-status=offline]").waitFor({ timeout: 15000 });
  await gina.page.screenshot({ path: join(shots, "offline.png") });
  await send(gina, "typed while offline");
  await gina.page.locator(".message.pending", { hasText: "typed while offline" }).waitFor();

  await startServer(port);
  const conversations = await api("frank", "GET", "/api/v1/conversations");
  const dm = conversations.conversations[0].id;
  for (const text of ["missed one", "missed two"]) {
    await api("frank", "POST", `/api/v1/conversations/${dm}/messages`, { body: text });
  }
  await gina.page.locator(".connection[data-status=online]").waitFor({ timeout: 30000 });
  for (const text of ["missed one", "missed two", "typed while offline"]) {
    await messageText(gina, text).first().waitFor();
    assert.equal(await messageText(gina, text).count(), 1, `"${text}" shows once`);
  }
  await messageText(frank, "typed while offline").waitFor({ timeout: 30000 });
  assert.equal(await messageText(frank, "typed while offline").count(), 1);
  const history = await api("gina", "GET", `/api/v1/conversations/${dm}/messages`);
  assert.equal(history.messages.filter((m) => m.body === "typed while offline").length, 1, "stored once");
  await frank.context.close();
  await gina.context.close();
});

test("hostile text renders as text: messages, names, bios, group names", async () => {
  const mallory = await newUser("mallory");
  const victim = await newUser("victim");
  await api("mallory", "PATCH", "/api/v1/me", { display_name: XSS, bio: `${XSS} javascript:alert(3)` });
  const group = await api("mallory", "POST", "/api/v1/conversations", { kind: "group", name: XSS, members: [] });
  const victimId = (await api("victim", "GET", "/api/v1/me")).id;
  await api("mallory", "POST", `/api/v1/conversations/${group.id}/members`, { members: [victimId] });
  for (const body of [XSS, "javascript:alert(4)", "[click](javascript:alert(5))", `"><svg onload=alert(6)>`]) {
    await api("mallory", "POST", `/api/v1/conversations/${group.id}/messages`, { body });
  }
  await victim.page.reload();
  await victim.page.locator(".connection[data-status=online]").waitFor();
  await victim.page.locator(".conversation").first().click();
  await messageText(victim, "<script>alert(2)</script>").first().waitFor();
  await victim.page.locator(".message .author").first().click();
  await victim.page.getByRole("dialog", { name: "Profile" }).waitFor();
  await victim.page.screenshot({ path: join(shots, "xss.png") });
  const injected = await victim.page.evaluate(() => ({
    images: document.querySelectorAll("#app img, .overlay img").length,
    scripts: [...document.querySelectorAll("script")].filter((s) => !s.src).length,
    svgs: document.querySelectorAll("svg").length,
    jsLinks: [...document.querySelectorAll("a")].filter((a) => a.href.startsWith("javascript:")).length,
  }));
  assert.deepEqual(injected, { images: 0, scripts: 0, svgs: 0, jsLinks: 0 });
  assert.ok(await victim.page.getByText(XSS).first().isVisible(), "the payload is visible as text");
  await mallory.context.close();
  await victim.context.close();
});

test("phone width, dark theme", async () => {
  const hank = await newUser("hank", { width: 390, height: 800 });
  await hank.page.getByRole("button", { name: "Switch theme" }).click();
  await openChatWith(hank, "alice");
  await send(hank, "Small screens work too");
  await hank.page.locator(".message:not(.pending) .body", { hasText: "Small screens work too" }).waitFor();
  await hank.page.screenshot({ path: join(shots, "phone-dark.png") });
  await hank.page.getByRole("button", { name: "Back" }).click();
  await hank.page.locator(".sidebar .conversation", { hasText: "alice" }).first().waitFor();
  await hank.context.close();
});
