// What the client shows follows what happened, without a reload.

import { join } from "node:path";
import assert from "node:assert/strict";
import { api, group, messageText, newUser, openChatWith, openConversation, send, shots, test, userId } from "../harness.mjs";

const preview = (user, title) => user.page.locator(".conversation", { hasText: title }).locator(".preview");

test("the sidebar preview follows an edit and a deletion of the last message", async () => {
  const writer = await newUser("prevwriter");
  const reader = await newUser("prevreader");
  await openChatWith(writer, "prevreader");
  await send(writer, "first version");
  await preview(reader, "prevwriter").filter({ hasText: "first version" }).waitFor();
  const dm = (await api("prevwriter", "GET", "/api/v1/conversations")).conversations[0];
  const message = dm.last_message;
  await api("prevwriter", "PATCH", `/api/v1/conversations/${dm.id}/messages/${message.id}`, { body: "second version" });
  await preview(reader, "prevwriter").filter({ hasText: "second version" }).waitFor();
  await api("prevwriter", "DELETE", `/api/v1/conversations/${dm.id}/messages/${message.id}`);
  await preview(reader, "prevwriter").filter({ hasText: "Message deleted" }).waitFor();
  await preview(writer, "prevreader").filter({ hasText: "Message deleted" }).waitFor();
});

test("blocking collapses someone's messages and unblocking shows them again, without a reload", async () => {
  const blocker = await newUser("blocker");
  await newUser("pest");
  await group("blocker", "Block club", ["pest"]);
  const c = (await api("pest", "GET", "/api/v1/conversations")).conversations[0];
  await api("pest", "POST", `/api/v1/conversations/${c.id}/messages`, { body: "words of the pest" });
  await openConversation(blocker, "Block club");
  await messageText(blocker, "words of the pest").waitFor();
  await blocker.page.locator(".message .author", { hasText: "pest" }).first().click();
  await blocker.page.getByRole("dialog", { name: "Profile" }).getByRole("button", { name: "Block" }).click();
  // Blocking asks first.
  await blocker.page.getByRole("dialog", { name: "Block pest?" }).getByRole("button", { name: "Block" }).click();
  await blocker.page.locator(".message .body.deleted", { hasText: "a user you blocked" }).waitFor();
  assert.equal(await messageText(blocker, "words of the pest").count(), 0, "collapsed at once");
  await blocker.page.locator(".message .author", { hasText: "pest" }).first().click();
  await blocker.page.getByRole("dialog", { name: "Profile" }).getByRole("button", { name: "Unblock" }).click();
  await messageText(blocker, "words of the pest").waitFor();
});

test("a removed member keeps their name, and a chat you were removed from closes its composer", async () => {
  const owner = await newUser("remover");
  const member = await newUser("removed1");
  await group("remover", "Removal club", ["removed1"]);
  await openConversation(member, "Removal club");
  await send(member, "my last words");
  await openConversation(owner, "Removal club");
  await messageText(owner, "my last words").waitFor();
  await api("remover", "DELETE", `/api/v1/conversations/${(await api("remover", "GET", "/api/v1/conversations")).conversations[0].id}/members/${await userId("removed1")}`);
  await owner.page.locator(".system", { hasText: "removed removed1" }).waitFor();
  assert.equal(await owner.page.locator(".message", { hasText: "my last words" }).locator(".author").textContent(), "removed1", "not “someone”");
  // The removed member: the conversation says so and nothing can be sent to it.
  await member.page.getByText("You are no longer a member of this conversation.").waitFor();
  assert.equal(await member.page.getByLabel("Message", { exact: true }).count(), 0, "no composer");
  await member.page.screenshot({ path: join(shots, "removed-from-group.png") });
});

test("a new direct conversation shows the peer online", async () => {
  const starter = await newUser("starter");
  const peer = await newUser("peer");
  await openChatWith(starter, "peer");
  // The peer learns of the conversation from an event, which carries no presence.
  await peer.page.locator(".conversation", { hasText: "starter" }).locator(".dot[data-presence=online]").waitFor({ timeout: 10000 });
  await starter.page.locator(".conversation", { hasText: "peer" }).locator(".dot[data-presence=online]").waitFor();
});

test("offline at start: the list does not claim there are no conversations", async () => {
  const user = await newUser("offlinestart");
  await openChatWith(user, "starter");
  await user.page.routeWebSocket(/\/api\/v1\/ws/, (ws) => ws.close({ code: 1011, reason: "test" }));
  await user.page.reload();
  await user.page.locator(".connection[data-status=offline]").waitFor({ timeout: 15000 });
  const list = await user.page.locator(".sidebar .conversations").textContent();
  assert.ok(!list.includes("No conversations yet."), list);
  assert.ok(list.includes("Offline"), list);
  await user.page.unrouteAll({ behavior: "ignoreErrors" });
});
