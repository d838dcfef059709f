// Names people chose are isolated from the text around them (item: bidi controls in names).
// The server refuses bidi controls in names outright (users/shown_text.rs); right-to-left names
// are legitimate, though, and still reorder the neutral text beside them unless isolated.

import { join } from "node:path";
import assert from "node:assert/strict";
import { api, group, messageText, newUser, openConversation, send, shots, test } from "../harness.mjs";

const RLO = "\u202E";
const HEBREW = "\u05E9\u05DC\u05D5\u05DD"; // a right-to-left word

/** Every text node carrying right-to-left text sits alone in an isolating element (`<bdi>` or
 * `dir=auto`), so that it cannot reorder the words around it. */
async function unisolated(page) {
  return page.evaluate((rtl) => {
    const bad = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.data.includes(rtl)) continue;
      const isolate = node.parentElement.closest("bdi, [dir=auto]");
      if (!isolate || isolate.textContent !== node.data) bad.push(`${node.parentElement.outerHTML.slice(0, 120)}`);
    }
    return bad;
  }, HEBREW);
}

test("right-to-left names cannot reorder the text around them, and bidi overrides are refused", async () => {
  const reader = await newUser("reader");
  const trickster = await newUser("trickster");
  await assert.rejects(api("trickster", "PATCH", "/api/v1/me", { display_name: `${RLO}gnp.exe` }), /400/);
  await api("trickster", "PATCH", "/api/v1/me", { display_name: `${HEBREW} 1`, bio: `${HEBREW} bio text` });
  await api("trickster", "PUT", "/api/v1/me/presence", { status: "online", status_text: `${HEBREW} status` });
  await group("trickster", `${HEBREW} club`, ["reader"]);
  await reader.page.reload();
  await reader.page.locator(".connection[data-status=online]").waitFor();
  await openConversation(reader, "club");
  await trickster.page.reload();
  await trickster.page.locator(".connection[data-status=online]").waitFor();
  await openConversation(trickster, "club");
  await send(trickster, "hello from the trickster");
  await messageText(reader, "hello from the trickster").waitFor();
  await reader.page.locator(".message", { hasText: "hello from the trickster" }).hover();
  await reader.page.locator(".message", { hasText: "hello from the trickster" }).getByRole("button", { name: "Reply" }).click();
  await send(reader, "a reply");
  await messageText(reader, "a reply").waitFor();
  await trickster.page.waitForTimeout(2600); // typing notices are throttled to one per 2.5 s
  await trickster.page.getByLabel("Message", { exact: true }).pressSequentially("typing");
  await reader.page.locator(".typing", { hasText: "is typing" }).waitFor();
  assert.deepEqual(await unisolated(reader.page), [], "sidebar, header, author, quote, system line, typing line");
  await reader.page.screenshot({ path: join(shots, "bidi-chat.png") });
  await reader.page.locator(".message .author", { hasText: HEBREW }).first().click();
  await reader.page.getByRole("dialog", { name: "Profile" }).waitFor();
  assert.deepEqual(await unisolated(reader.page), [], "profile card: name, status, bio");
  await reader.page.screenshot({ path: join(shots, "bidi-profile.png") });
});
