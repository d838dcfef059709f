// GIFs (issue 16): the composer's GIF picker searches the server's provider — here a double of
// Tenor's v2 API on loopback — with featured ones first, a search as typing pauses, more on
// request, the provider's attribution, the arrow keys; a choice is imported by the server and
// arrives on the other side as an attachment. The browser never contacts the provider: the double
// is asked only by the server. Without a provider there is no GIF button.

import { createServer } from "node:http";
import assert from "node:assert/strict";
import { addConfig, allowEgress, api, assertNoSidewaysScroll, base, checkA11y, newUser, openChatWith, openConversation, shot, startServer, stopServer, test } from "../harness.mjs";

// --- a GIF encoder, so that the double serves real pictures ----------------------------------

/** An animated GIF of `width` × `height`: `frames` functions (x, y) → a colour index 0–3 of
 * `palette` (four [r, g, b]). LZW-coded with a clear code every two pixels, which keeps every
 * code 3 bits wide: large, but any decoder reads it. */
export function gif(width, height, palette, frames) {
  const bytes = [];
  const u16 = (n) => [n & 255, (n >> 8) & 255];
  bytes.push(...Buffer.from("GIF89a"), ...u16(width), ...u16(height), 0xf1, 0, 0, ...palette.flat());
  bytes.push(0x21, 0xff, 0x0b, ...Buffer.from("NETSCAPE2.0"), 0x03, 0x01, 0, 0, 0); // loop for ever
  for (const frame of frames) {
    bytes.push(0x21, 0xf9, 0x04, 0x00, ...u16(20), 0x00, 0x00); // 0.2 s a frame
    bytes.push(0x2c, 0, 0, 0, 0, ...u16(width), ...u16(height), 0x00);
    const codes = [];
    for (let i = 0; i < width * height; i++) {
      if (i % 2 === 0) codes.push(4); // clear
      codes.push(frame(i % width, Math.floor(i / width)));
    }
    codes.push(5); // end of information
    const data = [];
    let acc = 0;
    let bits = 0;
    for (const code of codes) {
      acc |= code << bits;
      bits += 3;
      while (bits >= 8) { data.push(acc & 255); acc >>= 8; bits -= 8; }
    }
    if (bits) data.push(acc & 255);
    bytes.push(0x02);
    for (let at = 0; at < data.length; at += 255) {
      const block = data.slice(at, at + 255);
      bytes.push(block.length, ...block);
    }
    bytes.push(0x00);
  }
  bytes.push(0x3b);
  return Buffer.from(bytes);
}

// --- the provider: Tenor's v2 API, as much as the server uses ---------------------------------

const PALETTES = [[[250, 200, 60], [40, 40, 40], [240, 120, 40], [255, 255, 255]], [[90, 160, 230], [20, 40, 80], [240, 240, 250], [120, 200, 120]]];
const picture = (n, w, h) => gif(w, h, PALETTES[n % 2], [0, 1, 2].map((f) => (x, y) => ((x + y + f * 6 + n) >> 3) % 4));
const CATALOGUE = [
  ["c1", "Cat typing", "a cat typing on a keyboard"], ["c2", "Cat jumping", "a cat jumps onto a shelf"], ["c3", "Cat asleep", "a cat asleep in the sun"],
  ["c4", "Cat waving", "a cat waves a paw"], ["c5", "Cat surprised", "a surprised cat"],
  ["f1", "Lighthouse beam", "a lighthouse beam turning"], ["f2", "Waves", "waves on rocks"], ["f3", "Seagull", "a seagull flying"], ["f4", "Boat", "a boat at sea"],
].map(([id, title, description], n) => ({ id, title, description, full: picture(n, 96, 72), tiny: picture(n, 48, 36) }));

const seen = []; // every request the double got: {path, query, agent, referer}
const provider = createServer((req, res) => {
  const url = new URL(req.url, "http://double");
  seen.push({ path: url.pathname, query: Object.fromEntries(url.searchParams), agent: req.headers["user-agent"] || "", referer: req.headers.referer || "" });
  const origin = `http://127.0.0.1:${provider.address().port}`;
  const media = /^\/media\/(\w+)(-tiny)?\.gif$/.exec(url.pathname);
  if (media) {
    const item = CATALOGUE.find((g) => g.id === media[1]);
    if (!item) { res.writeHead(404); return res.end(); }
    res.writeHead(200, { "Content-Type": "image/gif" });
    return res.end(media[2] ? item.tiny : item.full);
  }
  const result = (g) => ({
    id: g.id, title: g.title, content_description: g.description,
    media_formats: {
      gif: { url: `${origin}/media/${g.id}.gif`, dims: [96, 72], size: g.full.length },
      tinygif: { url: `${origin}/media/${g.id}-tiny.gif`, dims: [48, 36], size: g.tiny.length },
    },
  });
  const json = (body) => { res.writeHead(200, { "Content-Type": "application/json" }); res.end(JSON.stringify(body)); };
  if (url.searchParams.get("key") !== "test-key") { res.writeHead(401, { "Content-Type": "application/json" }); return res.end(JSON.stringify({ error: { code: 401, message: "API key not valid" } })); }
  // Pages of three (featured: of four), `pos` the index to go on from.
  const page = (list, size) => {
    const from = Number(url.searchParams.get("pos") || 0);
    const slice = list.slice(from, from + size);
    return json({ results: slice.map(result), next: from + size < list.length ? String(from + size) : "" });
  };
  if (url.pathname === "/v2/featured") return page(CATALOGUE.filter((g) => g.id.startsWith("f")), 4);
  if (url.pathname === "/v2/search") {
    const q = (url.searchParams.get("q") || "").toLowerCase();
    return page(CATALOGUE.filter((g) => q && `${g.title} ${g.description}`.toLowerCase().includes(q)), 3);
  }
  if (url.pathname === "/v2/posts") {
    const ids = (url.searchParams.get("ids") || "").split(",");
    return json({ results: CATALOGUE.filter((g) => ids.includes(g.id)).map(result) });
  }
  res.writeHead(404, { "Content-Type": "application/json" });
  res.end("{}");
});
await new Promise((resolve) => provider.listen(0, "127.0.0.1", resolve));
export const stopGifProvider = () => new Promise((resolve) => provider.close(resolve));

allowEgress(`127.0.0.1:${provider.address().port}`);
const GIFS = `[gifs]\nprovider_url = "http://127.0.0.1:${provider.address().port}/v2"\napi_key = "test-key"\nattribution = "Powered by Tenor"\n`;
let dropGifs = addConfig(GIFS);

const setTheme = async (page, theme) => {
  await page.evaluate((t) => { document.documentElement.dataset.theme = t; }, theme);
  await page.waitForTimeout(300);
};
const focused = (page) => page.evaluate(() => document.activeElement.getAttribute("aria-label"));
const loaded = (dialog) => dialog.locator(".gif-cell img").evaluateAll((imgs) => Promise.all(imgs.map((img) => img.complete || new Promise((r) => { img.addEventListener("load", r, { once: true }); img.addEventListener("error", r, { once: true }); }))));

test("gifs: the picker shows the provider's featured GIFs and searches it as typing pauses, by keyboard; the chosen one arrives as an attachment; the browser never reaches the provider", async () => {
  const ana = await newUser("gifana", { width: 1200, height: 860 });
  const ben = await newUser("gifben", { width: 1200, height: 860 });
  assert.deepEqual(await api("gifana", "GET", "/api/v1/gifs/provider"), { enabled: true, attribution: "Powered by Tenor" });
  await openChatWith(ana, "gifben");
  const { page } = ana;
  const button = page.getByRole("button", { name: "Choose a GIF" });
  await button.focus();
  await page.keyboard.press("Enter");
  const picker = page.getByRole("dialog", { name: "GIFs" });
  const featured = picker.getByRole("grid", { name: "Featured GIFs" });
  await featured.getByRole("button", { name: "a lighthouse beam turning", exact: true }).waitFor();
  assert.equal(await featured.getByRole("button").count(), 4);
  await picker.getByText("Powered by Tenor").waitFor();
  // Previews come from Confab, not from the provider.
  const sources = await picker.locator(".gif-cell img").evaluateAll((imgs) => imgs.map((img) => img.src));
  for (const src of sources) assert.ok(src.startsWith(`${new URL(page.url()).origin}/`), `served by Confab: ${src}`);
  await loaded(picker);

  // Typing searches once it pauses: one search for the whole word.
  const before = seen.filter((r) => r.path === "/v2/search").length;
  await picker.getByLabel("Search GIFs").pressSequentially("cat", { delay: 40 });
  const results = picker.getByRole("grid", { name: "GIFs for cat" });
  await results.getByRole("button", { name: "a cat typing on a keyboard", exact: true }).waitFor();
  const searches = seen.filter((r) => r.path === "/v2/search").slice(before);
  assert.deepEqual(searches.map((r) => r.query.q), ["cat"], "debounced: not one search a letter");
  assert.equal(searches[0].query.key, "test-key", "the server's key, which no browser sees");
  assert.equal(await results.getByRole("button").count(), 3);
  // More: the next page, after the first.
  await picker.getByRole("button", { name: "More GIFs" }).click();
  await results.getByRole("button", { name: "a surprised cat", exact: true }).waitFor();
  assert.equal(await results.getByRole("button").count(), 5);
  assert.equal(seen.filter((r) => r.path === "/v2/search").at(-1).query.pos, "3");
  assert.equal(await picker.getByRole("button", { name: "More GIFs" }).isHidden(), true, "no page after the last");
  await loaded(picker);
  await assertNoSidewaysScroll(page, "the GIF picker");
  await checkA11y(page, "the GIF picker (light)");
  await shot(page, "gif-picker.png");
  await setTheme(page, "dark");
  await checkA11y(page, "the GIF picker (dark)");
  await shot(page, "gif-picker-dark.png");
  await setTheme(page, "light");
  await page.setViewportSize({ width: 390, height: 844 });
  await assertNoSidewaysScroll(page, "the GIF picker on a phone");
  await checkA11y(page, "the GIF picker on a phone");
  await page.setViewportSize({ width: 1200, height: 860 });
  // Nothing found says so.
  await picker.getByLabel("Search GIFs").fill("zebra");
  await picker.getByText("No GIFs found for zebra").waitFor();
  await picker.getByLabel("Search GIFs").fill("cat");
  await results.getByRole("button", { name: "a cat asleep in the sun", exact: true }).waitFor();

  // The keyboard: Down into the grid, Right, Enter chooses.
  await picker.getByLabel("Search GIFs").focus();
  await page.keyboard.press("ArrowDown");
  assert.equal(await focused(page), "a cat typing on a keyboard", "named by its description, which says what it shows");
  await page.keyboard.press("ArrowRight");
  assert.equal(await focused(page), "a cat jumps onto a shelf");
  await page.keyboard.press("Enter");
  await picker.waitFor({ state: "detached", timeout: 20000 });
  assert.equal(await focused(page), "Choose a GIF", "focus back on the button");

  // Sent as an attachment: an animated image in the timeline, on both sides.
  const sent = page.locator(".timeline .message:not(.pending) .media-item img");
  await sent.waitFor({ timeout: 20000 });
  await openConversation(ben, "gifana");
  const received = ben.page.locator(".timeline .message .media-item");
  await received.waitFor();
  assert.equal(await received.locator(".media-badge").textContent(), "GIF", "the server measured its frames");
  const dm = (await api("gifben", "GET", "/api/v1/conversations")).conversations.find((c) => c.kind === "direct" && c.members.some((m) => m.user.username === "gifana"));
  const message = (await api("gifben", "GET", `/api/v1/conversations/${dm.id}/messages`)).messages.find((m) => m.attachments?.length);
  assert.equal(message.attachments[0].mime, "image/gif");
  assert.equal(message.attachments[0].width, 96, "the full GIF, not the preview");
  assert.ok(seen.some((r) => r.path === "/media/c2.gif"), "the server fetched the chosen GIF");

  // Not one request from a browser: no browser's User-Agent, no page as Referer.
  assert.ok(seen.length > 0);
  assert.deepEqual(seen.filter((r) => /Mozilla|Chrome|HeadlessChrome/.test(r.agent) || r.referer), [], "the browser never contacted the provider");
});

// Last of this file: it restarts the server without a provider, then with it again.
test("gifs: without a provider there is no GIF button", async () => {
  const port = new URL(base()).port;
  await stopServer();
  dropGifs();
  try {
    await startServer(port);
    assert.deepEqual(await api("gifana", "GET", "/api/v1/gifs/provider").then((p) => p.enabled), false);
    const user = await newUser("nogifs");
    // Loaded again, to wait for the client's question about the provider and its answer.
    const answer = user.page.waitForResponse((r) => r.url().endsWith("/api/v1/gifs/provider"));
    await user.page.reload();
    assert.equal((await (await answer).json()).enabled, false);
    await user.page.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
    await openChatWith(user, "gifana");
    await user.page.getByRole("button", { name: "Tone", exact: true }).waitFor();
    assert.equal(await user.page.getByRole("button", { name: "Choose a GIF" }).count(), 0);
  } finally {
    await stopServer();
    dropGifs = addConfig(GIFS);
    await startServer(port);
  }
});
