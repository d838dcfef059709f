// Bots: a bot's name carries a badge wherever it appears (its messages, the member list, its
// profile card), for eyes ("BOT") and for screen readers (", bot").

import assert from "node:assert/strict";
import { api, base, checkA11y, messageText, newUser, openConversation, shot, test, userId } from "../harness.mjs";

test("a bot is marked as a bot wherever its name appears", async () => {
  const reader = await newUser("botreader");
  await newUser("botowner");
  const made = await api("botowner", "POST", "/api/v1/bots", { username: "dicebot", display_name: "Dice" });
  const room = await api("botowner", "POST", "/api/v1/conversations", { kind: "group", name: "Board games", members: [await userId("botreader"), made.bot.user.id] });
  const said = await fetch(`${base()}/api/v1/conversations/${room.id}/messages`, {
    method: "POST", headers: { Authorization: `Bearer ${made.token}`, "Content-Type": "application/json" }, body: JSON.stringify({ body: "🎲 you rolled a 4" }),
  });
  assert.equal(said.status, 201);
  await api("botowner", "POST", `/api/v1/conversations/${room.id}/messages`, { body: "thanks, dice" });

  await reader.page.reload();
  await reader.page.locator(".connection[data-status=online]").waitFor();
  await openConversation(reader, "Board games");
  await messageText(reader, "you rolled a 4").waitFor();
  const author = reader.page.locator(".message", { hasText: "you rolled a 4" }).locator(".author");
  assert.equal(await author.locator(".bot-badge").count(), 1, "the bot's message carries the badge");
  assert.match(await author.innerText(), /Dice\s*BOT/);
  assert.match(await author.evaluate((el) => el.textContent), /Dice.*, bot/, "screen readers hear that it is a bot");
  const person = reader.page.locator(".message", { hasText: "thanks, dice" }).locator(".author");
  assert.equal(await person.locator(".bot-badge").count(), 0, "people carry none");
  await shot(reader.page, "bot-message.png");

  await reader.page.getByRole("button", { name: "Members" }).click();
  const members = reader.page.getByRole("dialog", { name: "Members" });
  await members.locator(".person", { hasText: "Dice" }).locator(".bot-badge").waitFor();
  assert.equal(await members.locator(".bot-badge").count(), 1, "only the bot, among three members");
  await checkA11y(reader.page, "the member list with a bot");
  await reader.page.keyboard.press("Escape");

  await author.click();
  const card = reader.page.getByRole("dialog", { name: "Profile" });
  await card.locator(".bot-badge").waitFor();
  await checkA11y(reader.page, "a bot's profile card");
  await reader.page.keyboard.press("Escape");
});
