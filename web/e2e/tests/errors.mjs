// What the server refuses is shown, with the reason, never dropped silently.

import { join } from "node:path";
import assert from "node:assert/strict";
import { api, newUser, openChatWith, send, shots, test, userId } from "../harness.mjs";

test("a message refused by the server shows as failed, with the reason, to retry or delete", async () => {
  const sender = await newUser("refused");
  await newUser("refuser");
  await openChatWith(sender, "refuser");
  await send(sender, "hello before the block");
  await sender.page.locator(".message:not(.pending)", { hasText: "hello before the block" }).waitFor();
  await api("refuser", "PUT", `/api/v1/blocks/${await userId("refused")}`);
  await send(sender, "this one is refused");
  const failed = sender.page.locator(".message.failed", { hasText: "this one is refused" });
  await failed.getByText("Not sent: you cannot message this person").waitFor();
  await sender.page.screenshot({ path: join(shots, "message-refused.png") });
  // Retry while still blocked: refused again, still shown once.
  await failed.getByRole("button", { name: "Retry" }).click();
  await failed.getByText("Not sent").waitFor();
  assert.equal(await sender.page.locator(".message", { hasText: "this one is refused" }).count(), 1);
  // Unblocked: the retry goes through, once.
  await api("refuser", "DELETE", `/api/v1/blocks/${await userId("refused")}`);
  await failed.getByRole("button", { name: "Retry" }).click();
  await sender.page.locator(".message:not(.pending):not(.failed)", { hasText: "this one is refused" }).waitFor();
  assert.equal(await sender.page.locator(".message", { hasText: "this one is refused" }).count(), 1);
  // Delete drops a failed message for good.
  await api("refuser", "PUT", `/api/v1/blocks/${await userId("refused")}`);
  await send(sender, "never mind this");
  const second = sender.page.locator(".message.failed", { hasText: "never mind this" });
  await second.getByRole("button", { name: "Delete" }).click();
  await second.waitFor({ state: "detached" });
});

test("pasting more than the limit says so and keeps the whole text", async () => {
  const user = await newUser("paster");
  await openChatWith(user, "refuser");
  const box = user.page.getByLabel("Message", { exact: true });
  const text = "x".repeat(4010);
  await box.fill(text);
  await user.page.getByText("Too long to send: 10 characters over the limit of 4,000.").waitFor();
  assert.equal((await box.inputValue()).length, 4010, "nothing was cut");
  assert.ok(await user.page.getByRole("button", { name: "Send" }).isDisabled(), "Send waits");
  await box.press("Enter");
  assert.equal(await user.page.locator(".message", { hasText: "xxxx" }).count(), 0, "nothing was sent");
  await box.fill("x".repeat(4000));
  await user.page.getByText("Too long to send").waitFor({ state: "hidden" });
  assert.ok(await user.page.getByRole("button", { name: "Send" }).isEnabled());
});
