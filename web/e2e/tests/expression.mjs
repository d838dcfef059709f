// How messages are meant and look (issue 16): tone indicators chosen from the menu or typed, shown
// as chips with their meaning and kept through an edit; link previews the server builds from a
// page's OpenGraph tags (served here on loopback, which the server may reach through its egress
// allowlist), their picture's box reserved, their text only text, their title behind the
// leaving-site warning, removed by the author, turned off per conversation; conversation themes
// from a preset or custom colours (refused below WCAG AA with the server's words), for everyone at
// once, light and dark, and "Use my own colours" on one device.

import { createServer } from "node:http";
import assert from "node:assert/strict";
import { allowEgress, api, checkA11y, group, newUser, openChatWith, openConversation, png, send, shot, test, XSS } from "../harness.mjs";

// --- the linked site: pages with OpenGraph tags and their pictures ----------------------------

const seen = []; // every request the site got: {path, agent}
const cover = png(1200, 630, (x, y) => [Math.round(20 + (y / 630) * 60), Math.round(70 + (x / 1200) * 90), Math.round(150 + (y / 630) * 90)]);
const logo = png(200, 200, (x, y) => [(x * 3) % 256, 160, (y * 2) % 256]);
const page = ({ title, description, site, image }) => `<!doctype html><html><head>
<title>fallback title</title>
<meta property="og:title" content="${title}">
<meta property="og:description" content="${description}">
<meta property="og:site_name" content="${site}">
<meta property="og:image" content="${image}">
<script>alert("the page ran")</script>
</head><body><h1>${title}</h1></body></html>`;
const escape = (text) => text.replaceAll("&", "&amp;").replaceAll("\"", "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const site = createServer((req, res) => {
  seen.push({ path: req.url, agent: req.headers["user-agent"] || "" });
  const origin = `http://127.0.0.1:${site.address().port}`;
  if (req.url === "/cover.png" || req.url === "/logo.png") {
    res.writeHead(200, { "Content-Type": "image/png" });
    return res.end(req.url === "/cover.png" ? cover : logo);
  }
  const pages = {
    "/lighthouses": { title: escape(`Lighthouses of the north ${XSS}`), description: escape("Forty-one towers, from the Orkneys to the Lofoten islands: who kept their lamps lit through two centuries of storms, how the lenses were ground, and what became of the keepers when the lights went automatic. A long read, with maps."), site: "Coast Journal", image: `${origin}/cover.png` },
    "/tide-tables": { title: "Tide tables", description: "High and low water for every harbour.", site: "Harbour office", image: `${origin}/logo.png` },
    "/quiet": { title: "A quiet page", description: "Nothing to see.", site: "Quiet", image: `${origin}/logo.png` },
  };
  const found = pages[req.url.split("?")[0]];
  res.writeHead(found ? 200 : 404, { "Content-Type": "text/html; charset=utf-8" });
  res.end(found ? page(found) : "<!doctype html><title>not here</title>");
});
await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
const siteOrigin = `http://127.0.0.1:${site.address().port}`;
// The server fetches only public addresses, except the host:port entries of its allowlist.
allowEgress(`127.0.0.1:${site.address().port}`);
export const stopSite = () => new Promise((resolve) => site.close(resolve));

// --- helpers -------------------------------------------------------------------------------

/** The colours axe measures settle after the transitions (120 ms). */
const setTheme = async (page, theme) => {
  await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
  await page.waitForTimeout(300);
};

const rgb = (hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(", ")})`;
const background = (page, selector) => page.locator(selector).first().evaluate((el) => getComputedStyle(el).backgroundColor);

/** Chooses `item` in the menu of the message that says `text`. */
async function messageMenu(user, text, item) {
  const m = user.page.locator(".timeline .message", { hasText: text }).first();
  await m.hover();
  await m.getByRole("button", { name: "More actions", exact: true }).click();
  await user.page.getByRole("menuitem", { name: item, exact: true }).click();
}

async function openSettings(user) {
  await user.page.getByRole("button", { name: "Conversation settings" }).click();
  const dialog = user.page.getByRole("dialog", { name: "Conversation settings" });
  await dialog.waitFor();
  return dialog;
}

/** The id of the direct conversation of `a` with `b`. */
async function dmWith(a, b) {
  return (await api(a, "GET", "/api/v1/conversations")).conversations.find((c) => c.kind === "direct" && c.members.some((m) => m.user.username === b)).id;
}

const toneNames = (locator) => locator.locator(".tone").evaluateAll((chips) => chips.map((c) => [c.textContent, c.getAttribute("aria-label"), c.title]));

// --- tone indicators -------------------------------------------------------------------------

test("tone indicators: chosen from the menu by keyboard or typed at the end, chips with their meaning for everyone, back as text in an edit, or kept as text", async () => {
  const ana = await newUser("toneana", { width: 1200, height: 800 });
  const ben = await newUser("toneben");
  await openChatWith(ana, "toneben");
  const { page } = ana;
  const box = page.getByLabel("Message", { exact: true });

  // The menu, from the keyboard: Enter opens it, a letter jumps, Enter chooses.
  const toneButton = page.getByRole("button", { name: "Tone", exact: true });
  await toneButton.waitFor(); // once the list of tones is known
  await toneButton.focus();
  await page.keyboard.press("Enter");
  const menu = page.getByRole("menu", { name: "Tone indicators" });
  await menu.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("role")), "menuitemcheckbox");
  assert.ok((await menu.getByRole("menuitemcheckbox").count()) >= 20, "the server's list, with meanings");
  await page.keyboard.press("l");
  assert.match(await page.evaluate(() => document.activeElement.textContent), /^\/lh.*light-hearted/);
  await page.keyboard.press("Enter");
  await menu.waitFor({ state: "detached" });
  const tray = page.getByRole("list", { name: "Tone indicators to send" });
  await tray.getByText("light-hearted").waitFor();
  // Chosen ones are checked when the menu opens again; choosing one again takes it off.
  await toneButton.click();
  assert.equal(await menu.getByRole("menuitemcheckbox", { name: /^\/lh/ }).getAttribute("aria-checked"), "true");
  await page.keyboard.press("Escape");

  // Typed at the end: the composer says what it will become.
  await box.fill("see you at the lighthouse /j");
  await page.locator(".tone-hint", { hasText: "/j will show as a tone indicator (joking)" }).waitFor();
  await box.press("Enter");
  const sent = page.locator(".timeline .message:not(.pending)", { hasText: "see you at the lighthouse" });
  await sent.waitFor();
  await page.waitForFunction(() => document.querySelectorAll(".timeline .message:not(.pending) .tone").length === 2);
  assert.deepEqual(await toneNames(sent), [["/lh", "light-hearted", "light-hearted"], ["/j", "joking", "joking"]]);
  assert.equal(await sent.locator(".body").textContent(), "see you at the lighthouse /lh /j", "the text lost its typed indicator; the chips follow it");
  assert.equal(await tray.isHidden(), true, "the chosen ones went with the message");

  // The other side: chips with their meaning, and the sidebar's preview as typed.
  await ben.page.locator(".conversation", { hasText: "toneana" }).locator(".preview", { hasText: "see you at the lighthouse /lh /j" }).waitFor();
  await openConversation(ben, "toneana");
  await ben.page.getByRole("img", { name: "joking" }).waitFor();
  assert.deepEqual(await toneNames(ben.page.locator(".timeline .message", { hasText: "see you at the lighthouse" })), [["/lh", "light-hearted", "light-hearted"], ["/j", "joking", "joking"]]);

  // An edit starts from the text with its indicators typed after it; the server lifts them again.
  await box.press("ArrowUp");
  const edit = page.getByRole("dialog", { name: "Edit message" });
  await edit.waitFor();
  const field = edit.getByLabel("Edit message");
  assert.equal(await field.inputValue(), "see you at the lighthouse /lh /j");
  await field.fill("see you at the lighthouse /sarc");
  await edit.locator(".tone-hint", { hasText: "(sarcastic)" }).waitFor();
  await edit.getByRole("button", { name: "Save" }).click();
  await page.waitForFunction(() => [...document.querySelectorAll(".timeline .message .tone")].map((t) => t.getAttribute("aria-label")).join() === "sarcastic");
  await ben.page.getByRole("img", { name: "sarcastic" }).waitFor();

  // Kept as text: the indicator is what the message is about.
  await box.fill("what does /srs mean? /srs");
  const hint = page.locator(".tone-hint");
  await hint.getByRole("button", { name: "Keep as text" }).click();
  await hint.getByText("/srs stays text, as typed.").waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.getAttribute("aria-label")), "Message", "back in the composer");
  await box.press("Enter");
  const literal = page.locator(".timeline .message:not(.pending) .body", { hasText: "what does /srs mean? /srs" });
  await literal.waitFor();
  assert.equal(await literal.locator(".tone").count(), 0);
  // Its edit keeps them as text too.
  await box.press("ArrowUp");
  await edit.locator(".tone-hint", { hasText: "stays text" }).waitFor();
  await checkA11y(page, "the edit dialog with its tone line");
  await page.keyboard.press("Escape");

  // More than five cannot be sent.
  await box.fill("too much /j /s /srs /lh /gen /pos");
  await hint.getByText("at most 5").waitFor();
  assert.equal(await page.getByRole("button", { name: "Send" }).isDisabled(), true);
  await box.fill("");
  await box.dispatchEvent("input");

  await checkA11y(page, "a conversation with tone indicators (light)");
  await shot(page, "tones-light.png");
  await setTheme(page, "dark");
  await toneButton.click();
  await menu.waitFor();
  await checkA11y(page, "the Tone menu (dark)");
  await shot(page, "tones-menu-dark.png");
  await page.keyboard.press("Escape");
});

// --- link previews ---------------------------------------------------------------------------

test("link previews: cards from the page's OpenGraph tags, pictures in reserved boxes served by Confab, text as text, the title behind the leaving warning; the author removes them; a conversation turns them off", async () => {
  const ana = await newUser("linkana", { width: 1200, height: 860 });
  const ben = await newUser("linkben", { width: 1200, height: 860 });
  await openChatWith(ana, "linkben");
  await send(ana, `Tonight's reading: ${siteOrigin}/lighthouses and the tides ${siteOrigin}/tide-tables`);
  const cards = ana.page.locator(".link-preview");
  // Built after the send and delivered with message.updated.
  await cards.nth(1).waitFor({ timeout: 20000 });
  const big = cards.filter({ hasText: "Coast Journal" });
  assert.equal(await big.locator(".preview-site").textContent(), "Coast Journal");
  assert.match(await big.locator(".preview-title").textContent(), /^Lighthouses of the north/);
  assert.equal(await ana.page.locator(".link-preview img:not(.preview-image img), .link-preview script").count(), 0, "markup in the page's title is never markup here");
  assert.match(await big.locator(".preview-description").textContent(), /^Forty-one towers/);
  assert.equal(await big.evaluate((el) => el.classList.contains("large")), true, "a wide picture goes under the text");
  assert.equal(await cards.filter({ hasText: "Harbour office" }).evaluate((el) => el.classList.contains("thumb")), true, "a square one beside it");
  // The description is clamped: the card is shorter than its text would be.
  const clamp = await big.locator(".preview-description").evaluate((el) => ({ shown: el.clientHeight, full: el.scrollHeight }));
  assert.ok(clamp.full > clamp.shown, `clamped: ${JSON.stringify(clamp)}`);
  // The picture's box has the picture's shape, and its address is Confab's own.
  const image = await big.locator(".preview-image").evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight, src: el.querySelector("img").src, canvas: !!el.querySelector("canvas") }));
  assert.ok(Math.abs(image.w / image.h - 1200 / 630) < 0.05, `reserved at 1200:630: ${JSON.stringify(image)}`);
  assert.ok(image.src.startsWith(new URL(ana.page.url()).origin), `served by Confab: ${image.src}`);
  const { messages } = await api("linkana", "GET", `/api/v1/conversations/${await dmWith("linkana", "linkben")}/messages`);
  const given = messages.find((m) => m.previews?.length)?.previews.find((p) => p.site_name === "Coast Journal");
  assert.ok(given?.image, "the server sends the picture's size");
  assert.equal(image.canvas, !!given.image.blurhash, "painted with its BlurHash (when the server has one) until it loads");
  await big.locator(".preview-image.loaded").waitFor();

  // The other side sees the same cards without reaching the site: the server fetched it once.
  await openConversation(ben, "linkana");
  await ben.page.locator(".link-preview", { hasText: "Coast Journal" }).locator(".preview-image.loaded").waitFor();
  assert.deepEqual(seen.filter((r) => /HeadlessChrome/.test(r.agent)), [], "no browser asked the linked site");
  assert.ok(seen.some((r) => r.path === "/lighthouses") && seen.some((r) => r.path === "/cover.png"), "the server read the page and its picture");
  const leave = ben.page.getByRole("dialog", { name: "You are leaving Confab" });
  for (const how of [{}, { button: "middle" }]) {
    await ben.page.getByRole("link", { name: /^Lighthouses of the north/ }).click(how);
    await leave.waitFor();
    await leave.getByRole("button", { name: "Cancel" }).click();
  }
  await checkA11y(ben.page, "link previews (light)");
  await shot(ben.page, "preview-light.png");
  await setTheme(ben.page, "dark");
  await checkA11y(ben.page, "link previews (dark)");
  await shot(ben.page, "preview-dark.png");
  await setTheme(ben.page, "light");

  // Only the author may take them off, for everyone.
  await ben.page.locator(".timeline .message", { hasText: "Tonight's reading" }).hover();
  await ben.page.locator(".timeline .message", { hasText: "Tonight's reading" }).getByRole("button", { name: "More actions" }).click();
  assert.equal(await ben.page.getByRole("menuitem", { name: /Remove preview/ }).count(), 0, "not someone else's");
  await ben.page.keyboard.press("Escape");
  await messageMenu(ana, "Tonight's reading", "Remove previews");
  const confirm = ana.page.getByRole("dialog", { name: "Remove the previews?" });
  await confirm.getByRole("button", { name: "Remove" }).click();
  await cards.first().waitFor({ state: "detached" });
  await ben.page.locator(".link-preview").first().waitFor({ state: "detached" });

  // Off for this conversation: a link sent now gets no card.
  const settings = await openSettings(ana);
  const toggle = settings.getByRole("switch", { name: "Show link previews" });
  assert.equal(await toggle.isChecked(), true);
  await toggle.press("Space");
  await settings.getByText("Link previews off.").waitFor();
  await settings.getByRole("button", { name: "Close" }).click();
  assert.equal((await api("linkben", "GET", `/api/v1/conversations/${await dmWith("linkben", "linkana")}`)).link_previews, false, "for both of them");
  const before = seen.length;
  await send(ana, `and one more: ${siteOrigin}/quiet`);
  await ana.page.locator(".timeline .message:not(.pending)", { hasText: "and one more" }).waitFor();
  await ana.page.waitForTimeout(3000);
  assert.equal(await ana.page.locator(".link-preview").count(), 0);
  assert.equal(seen.slice(before).filter((r) => r.path === "/quiet").length, 0, "the page was not even fetched");
});

// --- conversation themes ---------------------------------------------------------------------

test("conversation themes: a preset for every member at once, light and dark, readable to axe; custom colours refused below AA in the server's words; my own colours; removed; gone when the conversation is left", async () => {
  const owner = await newUser("themekeeper", { width: 1440, height: 900 });
  const member = await newUser("themelamp", { width: 1440, height: 900 });
  const c = await group("themekeeper", "Lighthouse keepers", ["themelamp"]);
  const { presets } = await api("themekeeper", "GET", "/api/v1/themes");
  assert.ok(presets.length >= 2, "the server offers presets");
  const [preset, other] = presets;
  await api("themelamp", "POST", `/api/v1/conversations/${c.id}/messages`, { body: "Evening, all. Fog rolling in from the west /srs" });
  await api("themelamp", "POST", `/api/v1/conversations/${c.id}/messages`, { body: "Who has the **late** watch? @themekeeper" });
  await openConversation(owner, "Lighthouse keepers");
  await send(owner, "I do. The lamp is lit and the foghorn works /lh");
  await owner.page.locator(".timeline .message:not(.pending)", { hasText: "The lamp is lit" }).waitFor();
  await openConversation(member, "Lighthouse keepers");
  for (const user of [owner, member]) await setTheme(user.page, "light");

  const sidebar = await background(owner.page, ".sidebar");

  // A preset, from the swatches.
  let settings = await openSettings(owner);
  await checkA11y(owner.page, "the conversation settings (light)");
  await settings.getByRole("radio", { name: preset.name }).check();
  await settings.getByRole("button", { name: "Save theme" }).click();
  await settings.getByText("Theme saved.").waitFor();
  await settings.getByRole("button", { name: "Close" }).click();
  for (const user of [owner, member]) {
    await user.page.locator(".chat.themed").waitFor();
    assert.equal(await background(user.page, ".chat"), rgb(preset.light.background), `${user.name}: the background`);
    await user.page.locator(".timeline .system", { hasText: `themekeeper changed the theme to ${preset.name}` }).waitFor();
  }
  assert.equal(await background(owner.page, ".timeline .message.mine .body"), rgb(preset.light.own_bubble), "your messages");
  assert.equal(await background(owner.page, ".timeline .message:not(.mine) .body"), rgb(preset.light.bubble), "others' messages");
  assert.equal(await background(owner.page, ".sidebar"), sidebar, "the sidebar keeps the app's colours");
  await checkA11y(member.page, `a conversation in ${preset.name} (light)`);
  await shot(member.page, "theme-light.png");
  // The dark variant follows the app.
  await setTheme(member.page, "dark");
  assert.equal(await background(member.page, ".chat"), rgb(preset.dark.background));
  await checkA11y(member.page, `a conversation in ${preset.name} (dark)`);
  await shot(member.page, "theme-dark.png");
  await setTheme(member.page, "light");

  // Custom colours: the readout says what is too low; the server refuses it in its own words.
  settings = await openSettings(owner);
  await settings.getByRole("radio", { name: "Custom" }).check();
  const light = settings.getByRole("group", { name: "Light" });
  await light.getByLabel("Text", { exact: true }).fill(preset.light.background === "#ffffff" ? "#f2f2f2" : preset.light.background);
  await light.locator(".contrast-readout li[data-ok=false]", { hasText: "Text on the background" }).waitFor();
  await settings.getByRole("button", { name: "Save theme" }).click();
  const refusal = settings.getByRole("alert").filter({ hasText: /\S/ });
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /contrast|light|text/i, "the server's message");
  assert.equal((await api("themekeeper", "GET", `/api/v1/conversations/${c.id}`)).theme.preset, preset.id, "nothing changed");
  assert.equal(await background(owner.page, ".chat"), rgb(preset.light.background));
  // Readable colours of one's own go through.
  await light.getByLabel("Background", { exact: true }).fill("#fdf6e3");
  await light.getByLabel("Text", { exact: true }).fill("#2b2118");
  await light.getByLabel("Accent", { exact: true }).fill("#b1440e");
  await light.getByLabel("Your messages", { exact: true }).fill("#8a3a0c");
  await light.getByLabel("Text of your messages", { exact: true }).fill("#ffffff");
  assert.equal(await light.locator(".contrast-readout li[data-ok=false]").count(), 0);
  await shot(owner.page, "theme-settings.png");
  await settings.getByRole("button", { name: "Save theme" }).click();
  await settings.getByText("Theme saved.").waitFor();
  await settings.getByRole("button", { name: "Close" }).click();
  for (const user of [owner, member]) {
    await user.page.waitForFunction(() => getComputedStyle(document.querySelector(".chat")).backgroundColor === "rgb(253, 246, 227)");
    await user.page.locator(".timeline .system", { hasText: "themekeeper set a custom theme" }).waitFor();
  }

  // A member who may not change it sees it, and what it is.
  settings = await openSettings(member);
  await settings.getByText("This conversation uses a custom theme.").waitFor();
  await settings.getByText("The owner and admins can change it.").waitFor();
  assert.equal(await settings.getByRole("radio").count(), 0);
  assert.equal(await settings.getByRole("switch", { name: "Show link previews" }).isDisabled(), true);
  await checkA11y(member.page, "the conversation settings of a member");
  await settings.getByRole("button", { name: "Close" }).click();

  // "Use my own colours": this device only.
  await member.page.getByRole("button", { name: /^Me:/ }).click();
  const me = member.page.getByRole("dialog", { name: "Me" });
  await me.getByRole("switch", { name: "Use my own colours" }).check();
  await me.getByRole("button", { name: "Close" }).click();
  await member.page.locator(".chat.themed").waitFor({ state: "detached" });
  assert.equal(await member.page.locator(".chat").evaluate((el) => el.style.getPropertyValue("--bg")), "");
  await owner.page.locator(".chat.themed").waitFor();
  await member.page.reload();
  await member.page.locator(".chat-header h2", { hasText: "Lighthouse keepers" }).waitFor({ timeout: 15000 });
  assert.equal(await member.page.locator(".chat.themed").count(), 0, "kept across a reload");
  await member.page.getByRole("button", { name: /^Me:/ }).click();
  await me.getByRole("switch", { name: "Use my own colours" }).uncheck();
  await me.getByRole("button", { name: "Close" }).click();
  await member.page.locator(".chat.themed").waitFor();

  // Leaving the conversation leaves its colours behind; coming back brings them.
  await openChatWith(owner, "themelamp");
  assert.equal(await owner.page.locator(".chat.themed").count(), 0);
  assert.equal(await owner.page.locator(".chat").evaluate((el) => el.style.length), 0, "no variable left on the view");
  await openConversation(owner, "Lighthouse keepers");
  await owner.page.locator(".chat.themed").waitFor();

  // Another preset, live, on a phone in the dark.
  await member.page.setViewportSize({ width: 390, height: 844 });
  await setTheme(member.page, "dark");
  await api("themekeeper", "PUT", `/api/v1/conversations/${c.id}/theme`, { preset: other.id });
  await member.page.waitForFunction((bg) => getComputedStyle(document.querySelector(".chat")).backgroundColor === bg, rgb(other.dark.background));
  await member.page.locator(".timeline .system", { hasText: `changed the theme to ${other.name}` }).waitFor();
  await checkA11y(member.page, `a conversation in ${other.name} on a phone (dark)`);
  await shot(member.page, "theme-phone-dark.png");

  // Removed: everyone's own colours again.
  settings = await openSettings(owner);
  await settings.getByRole("button", { name: "Remove theme" }).click();
  await settings.getByText("Theme removed.").waitFor();
  await settings.getByText("No theme: everyone sees their own colours.").waitFor();
  await settings.getByRole("button", { name: "Close" }).click();
  for (const user of [owner, member]) {
    await user.page.locator(".chat.themed").waitFor({ state: "detached" });
    await user.page.locator(".timeline .system", { hasText: "themekeeper removed the theme" }).waitFor();
  }
  assert.equal((await api("themekeeper", "GET", `/api/v1/conversations/${c.id}`)).theme, undefined);
  // The sidebar's preview says it in words.
  await owner.page.locator(".conversation", { hasText: "Lighthouse keepers" }).locator(".preview", { hasText: "themekeeper removed the theme" }).waitFor();
});
