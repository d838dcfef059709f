// Stickers (issue 16): the server's sticker admin makes packs and stickers in the manage view
// (an image uploaded like any file, refused with the server's words when it is too big); anyone
// picks one from the composer's picker — tabs per pack, search, the arrow keys — and it is sent
// at once; everyone sees the picture with its description as its text, in a box reserved from its
// size; a deleted pack leaves "Sticker removed: …" where its stickers were.

import assert from "node:assert/strict";
import { addConfig, api, assertNoSidewaysScroll, checkA11y, newUser, openChatWith, openConversation, png, shot, test } from "../harness.mjs";

// Until server roles exist, the config names the sticker admins.
addConfig(`[stickers]\nadmins = ["stickeradmin"]\n`);

/** A gull on a blue sky, 128 × 96 (wider than tall: its box keeps that shape). */
const gull = png(128, 96, (x, y) => ((x - 64) ** 2 / 3 + (y - 52) ** 2 < 400 ? [250, 250, 245] : [70, 140, 220]));
const anchor = png(96, 96, (x, y) => (Math.abs(x - 48) < 6 || Math.abs(y - 30) < 5 ? [40, 50, 70] : [230, 200, 120]));
const fog = png(96, 96, (x, y) => [180 + (y % 40), 190 + (y % 40), 200]);
/** Larger than a sticker may be (at most 512 × 512), though small in bytes. */
const poster = png(600, 600, () => [200, 80, 60]);

const setTheme = async (page, theme) => {
  await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
  await page.waitForTimeout(300);
};

/** Adds a sticker through the manage view's form of `pack`; waits until it is listed. */
async function addSticker(manage, pack, { file, shortcode, body }) {
  const form = manage.getByRole("form", { name: `Add a sticker to ${pack}` });
  await form.getByLabel("Image").setInputFiles(file);
  await form.getByLabel("Shortcode").fill(shortcode);
  await form.getByLabel("Description").fill(body);
  await form.getByRole("button", { name: "Add sticker" }).click();
  await manage.getByRole("list", { name: `Stickers of ${pack}` }).getByText(`:${shortcode}:`).waitFor();
}

test("stickers: the admin makes packs in the manage view, another person picks one by keyboard and it is sent at once, the receiver sees the picture with its description; a deleted pack says Sticker removed", async () => {
  const admin = await newUser("stickeradmin", { width: 1200, height: 860 });
  const ben = await newUser("stickerben", { width: 1200, height: 860 });
  await assert.rejects(api("stickerben", "POST", "/api/v1/sticker-packs", { name: "Mine" }), /403.*forbidden/, "only the admins make packs");

  // No packs yet: nothing to pick, so Ben has no sticker button; the admin has one, to make some.
  await openChatWith(ben, "stickeradmin");
  await ben.page.getByRole("button", { name: "Tone", exact: true }).waitFor();
  assert.equal(await ben.page.getByRole("button", { name: "Choose a sticker" }).count(), 0);
  await openChatWith(admin, "stickerben");
  await admin.page.getByRole("button", { name: "Choose a sticker" }).click();
  let picker = admin.page.getByRole("dialog", { name: "Stickers" });
  await picker.getByText("No stickers yet.").waitFor();
  await picker.getByRole("button", { name: "Manage sticker packs" }).click();

  const manage = admin.page.getByRole("dialog", { name: "Sticker packs" });
  await manage.getByText("No packs yet.").waitFor();
  for (const pack of ["Harbour", "Weather"]) {
    await manage.getByLabel("Pack name").fill(pack);
    await manage.getByRole("button", { name: "Create pack" }).click();
    await manage.getByRole("heading", { name: pack }).waitFor();
  }
  // Too big for a sticker: the server says why, in its words, and nothing is added.
  const harbour = manage.getByRole("form", { name: "Add a sticker to Harbour" });
  await harbour.getByLabel("Image").setInputFiles({ name: "poster.png", mimeType: "image/png", buffer: poster });
  assert.equal(await harbour.getByLabel("Shortcode").inputValue(), "poster", "a shortcode from the file's name, to start from");
  await harbour.getByLabel("Description").fill("A poster");
  await harbour.getByRole("button", { name: "Add sticker" }).click();
  const refusal = harbour.getByRole("alert").filter({ hasText: /\S/ });
  await refusal.waitFor({ timeout: 15000 });
  assert.match(await refusal.textContent(), /512/, "the server's message names the limit");
  assert.equal((await api("stickeradmin", "GET", "/api/v1/sticker-packs")).packs.find((p) => p.name === "Harbour").stickers.length, 0);
  // A shortcode that is none is said before anything is uploaded.
  await harbour.getByLabel("Image").setInputFiles({ name: "gull.png", mimeType: "image/png", buffer: gull });
  await harbour.getByLabel("Shortcode").fill("Waving Gull");
  await harbour.getByLabel("Description").fill("A waving gull");
  await harbour.getByRole("button", { name: "Add sticker" }).click();
  await harbour.getByText("A shortcode has 1–32 lowercase letters").waitFor();

  await addSticker(manage, "Harbour", { file: { name: "gull.png", mimeType: "image/png", buffer: gull }, shortcode: "wave", body: "A waving gull" });
  await addSticker(manage, "Harbour", { file: { name: "anchor.png", mimeType: "image/png", buffer: anchor }, shortcode: "anchor", body: "An anchor" });
  await addSticker(manage, "Weather", { file: { name: "fog.png", mimeType: "image/png", buffer: fog }, shortcode: "fog", body: "Fog over the bay" });
  // Removing asks first.
  await manage.getByRole("button", { name: "Remove :fog: (Fog over the bay)" }).click();
  const ask = admin.page.getByRole("dialog", { name: "Remove :fog:?" });
  assert.equal(await admin.page.evaluate(() => document.activeElement.textContent), "Cancel", "Enter on the first focus does not remove it");
  await ask.getByRole("button", { name: "Cancel" }).click();
  await checkA11y(admin.page, "the sticker packs view (light)");
  await shot(admin.page, "sticker-manage.png");
  await setTheme(admin.page, "dark");
  await checkA11y(admin.page, "the sticker packs view (dark)");
  await admin.page.setViewportSize({ width: 390, height: 844 });
  await assertNoSidewaysScroll(admin.page, "the sticker packs view on a phone");
  await checkA11y(admin.page, "the sticker packs view on a phone (dark)");
  await admin.page.setViewportSize({ width: 1200, height: 860 });
  await setTheme(admin.page, "light");
  await manage.getByRole("button", { name: "Close" }).click();
  // Back in the picker, which has them now.
  picker = admin.page.getByRole("dialog", { name: "Stickers" });
  await picker.getByRole("tab", { name: "Weather" }).waitFor();
  await picker.getByRole("button", { name: "Close" }).click();

  // Ben's client learns of the packs (they are read again when the app loads).
  await ben.page.reload();
  await ben.page.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
  await openConversation(ben, "stickeradmin");
  const stickerButton = ben.page.getByRole("button", { name: "Choose a sticker" });
  await stickerButton.focus();
  await ben.page.keyboard.press("Enter");
  picker = ben.page.getByRole("dialog", { name: "Stickers" });
  await picker.getByRole("tab", { name: "Harbour" }).waitFor();
  assert.equal(await picker.getByRole("button", { name: "Manage sticker packs" }).count(), 0, "not for Ben");
  assert.equal(await ben.page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Search stickers");
  // The grid: Down from the search goes in, Right moves; the other tab has the other pack.
  await ben.page.keyboard.press("ArrowDown");
  assert.equal(await ben.page.evaluate(() => document.activeElement.getAttribute("aria-label")), "A waving gull");
  await ben.page.keyboard.press("ArrowRight");
  assert.equal(await ben.page.evaluate(() => document.activeElement.getAttribute("aria-label")), "An anchor");
  await picker.getByText(":anchor: An anchor").waitFor();
  await picker.getByRole("tab", { name: "Weather" }).click();
  await picker.getByRole("grid", { name: "Weather" }).getByRole("button", { name: "Fog over the bay" }).waitFor();
  // Search by description or shortcode.
  const search = picker.getByLabel("Search stickers");
  await search.fill("gull");
  await picker.getByText("1 sticker found").waitFor();
  await search.fill(":anch");
  await picker.getByRole("grid", { name: "Search results" }).getByRole("button", { name: "An anchor" }).waitFor();
  await search.fill("gull");
  await ben.page.locator(".sticker-cell img").first().evaluate((img) => img.complete || new Promise((r) => img.addEventListener("load", r, { once: true })));
  await checkA11y(ben.page, "the sticker picker (light)");
  await shot(ben.page, "sticker-picker.png");
  await setTheme(ben.page, "dark");
  await checkA11y(ben.page, "the sticker picker (dark)");
  await shot(ben.page, "sticker-picker-dark.png");
  await setTheme(ben.page, "light");
  // Enter in the search sends the first match, at once; focus is back on the button.
  await search.press("Enter");
  await picker.waitFor({ state: "detached" });
  assert.equal(await ben.page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Choose a sticker");

  // Both see the picture, its description as its text, in a box of the sticker's shape.
  for (const user of [ben, admin]) {
    const img = user.page.locator(".timeline .message:not(.pending) .body.sticker img");
    await img.waitFor();
    assert.equal(await img.getAttribute("alt"), "A waving gull");
    const box = await user.page.locator(".timeline .message:not(.pending) .body.sticker").evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight }));
    assert.ok(box.w <= 160 && box.h <= 160 && Math.abs(box.w / box.h - 128 / 96) < 0.03, `${user.name}: ${JSON.stringify(box)}`);
  }
  await admin.page.locator(".conversation", { hasText: "stickerben" }).locator(".preview", { hasText: "Sticker: A waving gull" }).waitFor();
  const dm = (await api("stickeradmin", "GET", "/api/v1/conversations")).conversations.find((c) => c.kind === "direct" && c.members.some((m) => m.user.username === "stickerben"));
  const sent = (await api("stickeradmin", "GET", `/api/v1/conversations/${dm.id}/messages`)).messages.find((m) => m.kind === "sticker");
  assert.equal(sent.sticker.shortcode, "wave");
  assert.equal(sent.body, "");
  // The edit of a sticker is no text edit: not in its menu.
  const mine = ben.page.locator(".timeline .message", { has: ben.page.locator(".body.sticker") });
  await mine.hover();
  await mine.getByRole("button", { name: "More actions" }).click();
  assert.equal(await ben.page.getByRole("menuitem", { name: "Edit", exact: true }).count(), 0);
  await ben.page.keyboard.press("Escape");
  await checkA11y(admin.page, "a sticker in the timeline");
  await shot(admin.page, "sticker-timeline.png");

  // On a phone the picker fits.
  await ben.page.setViewportSize({ width: 390, height: 844 });
  await stickerButton.click();
  await picker.getByRole("tab", { name: "Harbour" }).waitFor();
  await assertNoSidewaysScroll(ben.page, "the sticker picker on a phone");
  await checkA11y(ben.page, "the sticker picker on a phone");
  await shot(ben.page, "sticker-picker-phone.png");
  await picker.getByRole("button", { name: "Close" }).click();
  // The composer keeps room to write beside its buttons (attach, tone, sticker, GIF, invite, send).
  const field = await ben.page.getByLabel("Message", { exact: true }).boundingBox();
  assert.ok(field.width >= 120, `the message field is ${field.width} px wide on a phone`);
  await shot(ben.page, "sticker-phone.png");
  await ben.page.setViewportSize({ width: 1200, height: 860 });

  // The pack is deleted (asked first): the message says what the sticker was.
  await admin.page.getByRole("button", { name: "Choose a sticker" }).click();
  await admin.page.getByRole("dialog", { name: "Stickers" }).getByRole("button", { name: "Manage sticker packs" }).click();
  await manage.getByRole("region", { name: "Harbour" }).getByRole("button", { name: "Delete pack" }).click();
  const confirm = admin.page.getByRole("dialog", { name: "Delete the pack Harbour?" });
  await confirm.getByRole("button", { name: "Delete pack" }).click();
  await manage.getByRole("heading", { name: "Harbour" }).waitFor({ state: "detached" });
  await manage.getByRole("button", { name: "Close" }).click();
  await admin.page.getByRole("dialog", { name: "Stickers" }).getByRole("button", { name: "Close" }).click();
  await ben.page.reload();
  await ben.page.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
  await openConversation(ben, "stickeradmin");
  await ben.page.locator(".timeline .sticker-removed", { hasText: "Sticker removed: A waving gull" }).waitFor();
  assert.equal(await ben.page.locator(".timeline .body.sticker img").count(), 0);
  // Only the other pack is left to pick from.
  await stickerButton.click();
  await picker.getByRole("grid", { name: "Weather" }).waitFor();
  assert.equal(await picker.getByRole("tab").count(), 0, "one pack: no tabs");
  await picker.getByRole("button", { name: "Close" }).click();
});
