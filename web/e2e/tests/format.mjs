// Formatted messages (js/markdown.js) as both sides see them, hostile Markdown, spoilers, and the
// emoji picker (js/views/emoji.js). The picker is opened through the message's "Add reaction"
// toolbar button (shown on hover): the one way in, kept in `openPicker` so that a new message menu changes one line here.

import { join } from "node:path";
import assert from "node:assert/strict";
import { XSS, newUser, openChatWith, send, shots, test } from "../harness.mjs";

const lastMessage = (user, text) => user.page.locator(".message:not(.pending)", { hasText: text }).last();

const EVERYTHING = [
  "**bold** *italic* ~~struck~~ `co*de*` ||secret|| hi @fmtbob, see [the docs](https://docs.example/a) or https://x.example/b.",
  "> quoted **wisdom**",
  "- one",
  "- two",
  "  - nested",
  "3. third",
  "4. fourth",
  "```",
  "  keep   the spaces",
  "**not bold**",
  "```",
  "# not a heading, 2*3*4",
].join("\n");

test("each format shows the same for sender and receiver; the server keeps the source", async () => {
  const alice = await newUser("fmtalice");
  const bob = await newUser("fmtbob");
  await openChatWith(alice, "fmtbob");
  await send(alice, EVERYTHING);
  await bob.page.locator(".conversation", { hasText: "fmtalice" }).click();
  for (const [who, user] of [["sender", alice], ["receiver", bob]]) {
    const m = lastMessage(user, "bold");
    await m.waitFor();
    const body = m.locator(".body");
    const text = async (selector) => (await body.locator(selector).allTextContents());
    assert.deepEqual(await text("strong"), ["bold", "wisdom"], `${who}: bold`);
    assert.deepEqual(await text("em"), ["italic"], `${who}: italic`);
    assert.deepEqual(await text("s"), ["struck"], `${who}: strike`);
    assert.deepEqual(await text("code.md-code"), ["co*de*"], `${who}: inline code keeps its stars`);
    assert.deepEqual(await text("blockquote"), ["quoted wisdom"], `${who}: quote`);
    assert.deepEqual(await text(":scope > ul > li"), ["one", "twonested"], `${who}: two bullets, the second with its nested list`);
    assert.deepEqual(await text("ul ul > li"), ["nested"], `${who}: nested list`);
    assert.deepEqual(await text("ol > li"), ["third", "fourth"], `${who}: numbered list`);
    assert.equal(await body.locator("ol").getAttribute("start"), "3", `${who}: counts from 3`);
    assert.equal(await body.locator("pre").textContent(), "  keep   the spaces\n**not bold**", `${who}: code block keeps whitespace and markup`);
    assert.deepEqual(await text("a"), ["the docs", "https://x.example/b"], `${who}: links, the sentence's full stop left out`);
    assert.equal(await body.locator("a").first().getAttribute("href"), "https://docs.example/a");
    assert.equal(await body.locator(".md-spoiler").count(), 1, `${who}: spoiler`);
    assert.ok((await body.textContent()).includes("# not a heading, 2*3*4"), `${who}: no heading, no emphasis inside words`);
    assert.equal(await body.locator("h1, h2, h3, img, script, iframe").count(), 0);
    // The mention: highlighted for both; for Bob it is his own name and stands out.
    assert.equal(await body.locator(".md-mention").textContent(), "@fmtbob");
    assert.equal(await body.locator(".md-mention-me").count(), who === "receiver" ? 1 : 0, `${who}: own mention`);
  }
  await alice.page.screenshot({ path: join(shots, "format.png") });
  await bob.page.screenshot({ path: join(shots, "format-bob.png") });
  // The sidebar preview shows the text without its markup (and the spoiler hidden).
  const preview = await bob.page.locator(".conversation", { hasText: "fmtalice" }).locator(".preview").textContent();
  assert.ok(preview.startsWith("bold italic struck co*de* [spoiler] hi @fmtbob"), `preview: ${preview}`);
});

test("hostile Markdown renders as text: no markup, no unsafe link, no dialog", async () => {
  const alice = await newUser("fmthost");
  await newUser("fmtguest");
  await openChatWith(alice, "fmtguest");
  const hostile = [
    XSS,
    "[click](javascript:alert(3)) [data](data:text/html,<script>alert(4)</script>) <javascript:alert(5)>",
    "**<img src=x onerror=alert(6)>** `<script>alert(7)</script>` [<b>x</b>](https://ok.example)",
    "```html",
    "<script>alert(8)</script>",
    "```",
  ].join("\n");
  await send(alice, hostile);
  const m = lastMessage(alice, "click");
  await m.waitFor();
  const body = m.locator(".body");
  assert.equal(await alice.page.locator(".messages img, .messages script, .messages iframe, .messages b").count(), 0, "no element from the text");
  assert.deepEqual(await body.locator("a").evaluateAll((links) => links.map((a) => [a.textContent, a.getAttribute("href")])), [["<b>x</b>", "https://ok.example/"]], "only the https link is one, its label text");
  const tags = await alice.page.locator(".messages .body *").evaluateAll((els) => [...new Set(els.map((e) => e.tagName.toLowerCase()))]);
  const allowed = ["p", "strong", "em", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "span"];
  assert.deepEqual(tags.filter((t) => !allowed.includes(t)), [], `only the formatter's own elements: ${tags}`);
  assert.equal(await alice.page.locator(".messages .body [onerror], .messages .body [onclick], .messages .body [style], .messages .body [src]").count(), 0, "no attribute from the text");
  const shown = await body.textContent();
  for (const piece of ["<img src=1 onerror='alert(1)'>", "[click](javascript:alert(3))", "[data](data:text/html,<script>alert(4)</script>)", "<javascript:alert(5)>", "<script>alert(8)</script>"]) {
    assert.ok(shown.includes(piece), `shown as typed: ${piece}`);
  }
  // Clicking through every part of it opens nothing (the harness fails on any JavaScript dialog).
  for (const part of await body.locator("pre, code, strong").all()) await part.click();
  await alice.page.waitForTimeout(200);
  assert.equal(await alice.page.getByRole("dialog").count(), 0, "no dialog of ours either");
});

test("a spoiler is hidden until clicked or activated with Enter, and its link cannot be followed hidden", async () => {
  const alice = await newUser("fmtspoil");
  await newUser("fmtspoiled");
  await openChatWith(alice, "fmtspoiled");
  await send(alice, "ending: ||Bruce is a ghost|| and ||see https://spoil.example||");
  const m = lastMessage(alice, "ending");
  await m.waitFor();
  const [first, second] = await m.locator(".md-spoiler").all();
  const hidden = (s) => s.locator(".md-spoiler-content").evaluate((c) => getComputedStyle(c).visibility === "hidden" && c.inert);
  assert.ok(await hidden(first) && await hidden(second), "both hidden");
  assert.equal(await first.getAttribute("role"), "button");
  assert.equal(await alice.page.getByRole("button", { name: "Spoiler, hidden: press to reveal" }).count(), 2, "announced as hidden spoilers");
  assert.equal(await m.getByRole("link").count(), 0, "a hidden link is not a link to assistive technology");
  // Keyboard: Tab reaches it, Enter reveals it.
  await first.focus();
  await alice.page.keyboard.press("Enter");
  assert.ok(!(await hidden(first)), "Enter reveals");
  assert.equal(await first.getAttribute("role"), null, "revealed, it reads as its text");
  assert.ok(await hidden(second), "the other one stays hidden");
  // Mouse: the first click on the link reveals without leaving; the next one goes through the warning.
  await second.locator("a").click({ force: true });
  assert.ok(!(await hidden(second)), "a click reveals");
  await alice.page.waitForTimeout(200);
  assert.equal(await alice.page.getByRole("dialog").count(), 0, "revealing did not follow the link");
  await second.locator("a").click();
  await alice.page.getByRole("dialog", { name: "You are leaving Confab" }).waitFor();
  await alice.page.getByRole("button", { name: "Cancel" }).click();
  await alice.page.screenshot({ path: join(shots, "spoiler.png") });
});

/** The way into the picker: the message's reaction button. */
async function openPicker(user, messageText) {
  const message = lastMessage(user, messageText);
  await message.hover();
  await message.getByRole("button", { name: "Add reaction" }).click();
  const picker = user.page.getByRole("dialog", { name: "Pick an emoji" });
  await picker.waitFor();
  return picker;
}

test("the emoji picker searches, picks with the keyboard and the mouse, and remembers", async () => {
  const alice = await newUser("fmtemoji");
  const bob = await newUser("fmtemojifriend");
  await openChatWith(alice, "fmtemojifriend");
  await send(alice, "react to me");
  await lastMessage(alice, "react to me").waitFor();
  const { page } = alice;

  // Escape closes without a choice, and focus returns to the button that opened it.
  let picker = await openPicker(alice, "react to me");
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Search emoji", "the search field has focus");
  await page.keyboard.press("Escape");
  await picker.waitFor({ state: "detached" });
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Add reaction");

  // Keyboard: type, go down into the results, right, Enter.
  picker = await openPicker(alice, "react to me");
  await page.keyboard.type("heart");
  await picker.getByRole("status").filter({ hasText: "found" }).waitFor();
  const results = picker.locator(".emoji-cell");
  assert.ok(await results.count() > 5, "hearts found");
  const second = await results.nth(1).getAttribute("data-emoji");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowRight");
  assert.equal(await page.evaluate(() => document.activeElement.dataset.emoji), second, "arrows move in the grid");
  await page.keyboard.press("Enter");
  await picker.waitFor({ state: "detached" });
  await page.locator(".reaction", { hasText: `${second} 1` }).waitFor();
  await bob.page.locator(".conversation", { hasText: "fmtemoji" }).click();
  await bob.page.locator(".reaction", { hasText: `${second} 1` }).waitFor();

  // Mouse: a category, then an emoji in it.
  picker = await openPicker(alice, "react to me");
  assert.equal(await picker.getByRole("tab", { name: "Recently used" }).getAttribute("aria-selected"), "true", "recents come first once there are some");
  await picker.getByRole("tab", { name: "Food & drink" }).click();
  await picker.getByRole("button", { name: "pizza", exact: true }).click();
  await picker.waitFor({ state: "detached" });
  await page.locator(".reaction", { hasText: "🍕 1" }).waitFor();

  // A skin tone applies and is remembered; Enter in the search field takes the first match.
  picker = await openPicker(alice, "react to me");
  await picker.getByLabel("Skin tone").selectOption({ label: "✋🏽 Medium" });
  await picker.getByLabel("Search emoji").fill("thumbs up");
  await picker.getByRole("status").filter({ hasText: "found" }).waitFor();
  assert.equal(await results.first().getAttribute("data-emoji"), "👍🏽");
  await page.keyboard.press("Enter");
  await picker.waitFor({ state: "detached" });
  await page.locator(".reaction", { hasText: "👍🏽 1" }).waitFor();

  // Recents: newest first, and they survive a reload.
  await page.reload();
  await page.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
  await page.locator(".conversation", { hasText: "fmtemojifriend" }).click();
  await lastMessage(alice, "react to me").waitFor();
  picker = await openPicker(alice, "react to me");
  const recent = await picker.locator(".emoji-cell").evaluateAll((cells) => cells.map((c) => c.dataset.emoji));
  assert.deepEqual(recent.slice(0, 3), ["👍🏽", "🍕", second]);
  assert.equal(await picker.locator(".emoji-cell").first().getAttribute("aria-label"), "thumbs up", "a toned recent keeps its name");
  assert.equal(await picker.getByLabel("Skin tone").inputValue(), "3", "the tone is remembered");
  await page.screenshot({ path: join(shots, "emoji-picker.png") });
  // A search with no match says so.
  await picker.getByLabel("Search emoji").fill("zzzzqq");
  await picker.getByRole("status").filter({ hasText: "No emoji found" }).waitFor();
  await page.keyboard.press("Escape");
  await picker.waitFor({ state: "detached" });
});

test("the picker and formatting fit a phone", async () => {
  const user = await newUser("fmtphone", { width: 390, height: 844 });
  await newUser("fmtphonefriend");
  await openChatWith(user, "fmtphonefriend");
  await send(user, "```\na-very-long-line-of-code-that-would-not-fit-on-a-phone-screen-at-all-without-wrapping\n```\n> a quote with https://example.com/a/very/long/path/that/goes/on/and/on/and/on");
  await lastMessage(user, "a quote").waitFor();
  const { scroll, width } = await user.page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  assert.ok(scroll <= width, `no sideways scroll: ${scroll} in ${width}`);
  const picker = await openPicker(user, "a quote");
  const box = await picker.locator(".modal").boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, `the picker fits: ${JSON.stringify(box)}`);
  await user.page.screenshot({ path: join(shots, "emoji-picker-phone.png") });
});
