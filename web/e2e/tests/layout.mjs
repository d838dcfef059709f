// Long words, long bios and zalgo stay inside their boxes, on a desktop and on a 390 px phone.

import { join } from "node:path";
import assert from "node:assert/strict";
import { api, assertInView, assertNoSidewaysScroll, group, messageText, newUser, openConversation, send, shots, test } from "../harness.mjs";

const LONG_WORD = "Supercalifragilistic".repeat(12);
const ZALGO = "Z\u0351\u0308\u0301\u0300\u0315\u0306\u030f".repeat(1) + "a" + "\u0336\u0337\u0338\u0334\u0489\u0310\u0311\u0312\u0313\u0314".repeat(8) + "lgo";

for (const [label, width, height] of [["phone", 390, 800], ["desktop", 1200, 800]]) {
  test(`${label}: a reply to a long word keeps Send in view and nothing scrolls sideways`, async () => {
    const poster = `poster${width}`;
    const viewer = await newUser(`viewer${width}`, { width, height });
    await newUser(poster);
    await group(poster, `Long words ${width}`, [viewer.name]);
    const c = (await api(poster, "GET", "/api/v1/conversations")).conversations[0];
    await api(poster, "POST", `/api/v1/conversations/${c.id}/messages`, { body: LONG_WORD });
    await api(poster, "POST", `/api/v1/conversations/${c.id}/messages`, { body: ZALGO });
    await api(poster, "POST", `/api/v1/conversations/${c.id}/messages`, { body: `after the zalgo ${LONG_WORD}` });
    await openConversation(viewer, `Long words ${width}`);
    const first = viewer.page.locator(".message", { hasText: LONG_WORD }).first();
    await first.hover();
    await first.getByRole("button", { name: "Reply" }).click();
    await assertInView(viewer.page, viewer.page.getByRole("button", { name: "Send" }), "Send while replying");
    await assertNoSidewaysScroll(viewer.page, "replying to a long word");
    await send(viewer, "quoted it");
    await viewer.page.locator(".message:not(.pending)", { hasText: "quoted it" }).locator(".quote").waitFor();
    await assertInView(viewer.page, viewer.page.getByRole("button", { name: "Send" }), "Send after a quote of a long word");
    await assertNoSidewaysScroll(viewer.page, "a quote of a long word");
    // Zalgo marks stay in their own message: its content box clips what it draws (the message
    // itself lets its hover toolbar overlap the one above).
    const zalgo = viewer.page.locator(".message", { hasText: "lgo" }).first().locator(".content");
    assert.notEqual(await zalgo.evaluate((el) => getComputedStyle(el).overflowY), "visible", "a message clips its marks");
    for (const box of await viewer.page.locator(".message").all()) {
      const b = await box.boundingBox();
      assert.ok(b.x >= 0 && b.x + b.width <= width, "every bubble fits the window");
    }
    await viewer.page.screenshot({ path: join(shots, `long-words-${label}.png`) });
  });
}

test("phone: a long bio and status keep the profile card's buttons in view", async () => {
  const reader = await newUser("bioreader", { width: 390, height: 700 });
  await newUser("biowriter");
  const bio = Array.from({ length: 12 }, (_, i) => `line ${i} ${LONG_WORD.slice(0, 150)}`).join("\n").slice(0, 1000);
  await api("biowriter", "PATCH", "/api/v1/me", { bio });
  await api("biowriter", "PUT", "/api/v1/me/presence", { status: "online", status_text: LONG_WORD.slice(0, 100) });
  await group("biowriter", "Bio club", ["bioreader"]);
  await reader.page.reload();
  await reader.page.locator(".connection[data-status=online]").waitFor();
  await openConversation(reader, "Bio club");
  await reader.page.getByRole("button", { name: "Members" }).click();
  await reader.page.getByRole("dialog", { name: "Members" }).getByRole("button", { name: "biowriter" }).click();
  const card = reader.page.getByRole("dialog", { name: "Profile" });
  await card.waitFor();
  for (const name of ["Block", "Close"]) await assertInView(reader.page, card.getByRole("button", { name, exact: true }), name);
  await assertNoSidewaysScroll(reader.page, "profile card");
  await reader.page.screenshot({ path: join(shots, "profile-long-bio-phone.png") });
});
