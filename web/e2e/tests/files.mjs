// Files and images: attached with the button, pasted and dropped, uploaded with tus (resumed after
// a request that failed on the way, or after a pause), seen by the other side as pictures whose
// space is reserved and painted with their BlurHash before they load, a lightbox, and cards to
// download; pages and SVGs with scripts are downloads that run nothing; refusals say why; avatars
// for people and groups.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { api, base, checkA11y, newTab, newUser, openConversation, png, shot, test, userId } from "../harness.mjs";

/** A sunset: orange above, deep blue below (its BlurHash is far from grey). */
const sunset = () => png(640, 400, (x, y) => [Math.round(250 - (y / 400) * 200), Math.round(140 - (y / 400) * 110), Math.round(40 + (y / 400) * 120 + (x / 640) * 40)]);
const square = (r, g, b) => png(300, 300, (x, y) => [(r + x) % 256, (g + y) % 256, b]);

const PAGE = `<!doctype html><title>hi</title><h1>Hello</h1><script>alert("the page ran"); localStorage.setItem("pwned", "html"); window.__pwned = "html";</script>`;
const SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><script>alert("the svg ran"); localStorage.setItem("pwned", "svg");</script><rect width="40" height="40" fill="red"/></svg>`;

// --- helpers ---------------------------------------------------------------------------------

async function dm(a, b) {
  return api(a, "POST", "/api/v1/conversations", { kind: "direct", members: [await userId(b)] });
}

/** Picks `files` ({name, mimeType, buffer}) through the attach button's file chooser. */
async function attach(user, files) {
  const chooser = user.page.waitForEvent("filechooser");
  await user.page.getByRole("button", { name: "Attach files" }).click();
  await (await chooser).setFiles(files);
}

/** Pastes `bytes` as a picture into the message field, as a screenshot tool would. */
async function paste(user, name, bytes) {
  await user.page.getByLabel("Message", { exact: true }).evaluate((input, [name, bytes]) => {
    const data = new DataTransfer();
    data.items.add(new File([new Uint8Array(bytes)], name, { type: "image/png" }));
    input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
  }, [name, [...bytes]]);
}

const chips = (user, state) => user.page.locator(`.attachment-chip${state ? `[data-state="${state}"]` : ""}`);

async function allUploaded(user, count) {
  await chips(user, "complete").nth(count - 1).waitFor({ timeout: 20000 });
  assert.equal(await chips(user).count(), count);
}

async function dark(page) {
  await page.evaluate(() => { document.documentElement.dataset.theme = "dark"; });
  await page.waitForTimeout(300); // the colour transitions are over
}

// --- tests -----------------------------------------------------------------------------------

test("files: a picture and a PDF attached, a screenshot pasted; the other side sees them in place, with a lightbox", async () => {
  const alice = await newUser("filealice", { width: 1440, height: 900 });
  const bob = await newUser("filebob", { width: 1440, height: 900 });
  await dm("filealice", "filebob");
  await openConversation(alice, "filebob");
  await openConversation(bob, "filealice");
  // Bob's pictures wait until the test lets them through: the page must hold their place first.
  let letThrough;
  const gate = new Promise((resolve) => { letThrough = resolve; });
  await bob.page.route(/\/api\/v1\/media\//, async (route) => { await gate; await route.continue(); });

  await attach(alice, [
    { name: "sunset.png", mimeType: "image/png", buffer: sunset() },
    { name: "report.pdf", mimeType: "application/pdf", buffer: Buffer.from("%PDF-1.4\n% A report in name only.\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n") },
  ]);
  await allUploaded(alice, 2);
  const preview = chips(alice).filter({ hasText: "sunset.png" }).locator(".chip-thumb img");
  await preview.waitFor();
  assert.match(await preview.getAttribute("src"), /^blob:/, "the chip previews the picture from its own bytes");
  await alice.page.getByLabel("Message", { exact: true }).fill("Holiday pictures");
  await alice.page.waitForTimeout(200);
  await shot(alice.page, "files-composer.png");
  await checkA11y(alice.page, "composer with files");
  await alice.page.getByLabel("Message", { exact: true }).press("Enter");
  await chips(alice).first().waitFor({ state: "detached" });

  // Bob: the picture's box has its shape before a byte of it arrives, painted with its BlurHash.
  const item = bob.page.getByRole("button", { name: "sunset.png", exact: true });
  await item.waitFor({ timeout: 10000 });
  const before = await item.boundingBox();
  assert.ok(Math.abs(before.width / before.height - 640 / 400) < 0.02, `the box is 16:10 before the picture loads: ${JSON.stringify(before)}`);
  assert.equal(await item.evaluate((el) => el.classList.contains("loaded")), false, "not loaded yet");
  const painted = await item.locator("canvas").evaluate((canvas) => [...canvas.getContext("2d").getImageData(0, 0, 1, 1).data]);
  assert.ok(painted[3] === 255 && painted[0] > painted[2], `the placeholder is the sunset's warm top: ${painted}`);
  const card = bob.page.locator("a.file-card", { hasText: "report.pdf" });
  await card.waitFor();
  assert.equal(await card.getAttribute("download"), "report.pdf");
  assert.match(await card.textContent(), /PDF document · \d+ bytes/);
  letThrough();
  await bob.page.locator(".media-item.loaded").waitFor();
  const after = await item.boundingBox();
  assert.deepEqual([after.width, after.height].map(Math.round), [before.width, before.height].map(Math.round), "nothing moves when it loads");
  assert.match(await item.locator("img").getAttribute("src"), /\/thumbnail$/, "a large picture shows its thumbnail");
  assert.equal(await item.locator("img").getAttribute("alt"), "sunset.png");
  await bob.page.locator(".timeline .body", { hasText: "Holiday pictures" }).waitFor();

  // A pasted screenshot goes alone, without text.
  await paste(alice, "image.png", png(200, 120, (x, y) => [40, 90 + (x % 100), 200 - (y % 100)]));
  await allUploaded(alice, 1);
  await alice.page.getByRole("button", { name: "Send" }).click();
  await bob.page.getByRole("button", { name: "image.png", exact: true }).waitFor();
  await bob.page.locator(".conversation", { hasText: "🖼 image.png" }).waitFor();
  await bob.page.locator(".media-item.loaded").nth(1).waitFor();

  // The lightbox: the full picture, a download link, Escape closes and focus comes back.
  await item.click();
  const box = bob.page.getByRole("dialog", { name: "sunset.png" });
  await box.waitFor();
  await box.locator(".lightbox-stage.loaded").waitFor();
  assert.doesNotMatch(await box.locator(".lightbox-image").getAttribute("src"), /thumbnail/, "the full picture");
  assert.equal(await box.getByRole("link", { name: "Download" }).getAttribute("download"), "sunset.png");
  assert.match(await box.textContent(), /640 × 400/);
  await bob.page.waitForTimeout(250);
  await shot(bob.page, "files-lightbox.png");
  await checkA11y(bob.page, "lightbox");
  await bob.page.keyboard.press("Tab");
  assert.equal(await box.evaluate((el) => el.contains(document.activeElement)), true, "focus stays in the lightbox");
  await bob.page.keyboard.press("Escape");
  await box.waitFor({ state: "detached" });
  assert.equal(await item.evaluate((el) => el === document.activeElement), true, "focus is back on the picture");

  await shot(bob.page, "files-timeline.png");
  await checkA11y(bob.page, "timeline with files (light)");
  await dark(bob.page);
  await checkA11y(bob.page, "timeline with files (dark)");
  await shot(bob.page, "files-timeline-dark.png");
  await bob.page.setViewportSize({ width: 390, height: 844 });
  await bob.page.waitForTimeout(200);
  await shot(bob.page, "files-phone-dark.png");
  await checkA11y(bob.page, "timeline with files on a phone (dark)");
});

test("files: an HTML page and an SVG with scripts are offered as downloads, and opening their URLs runs nothing", async () => {
  const alice = await newUser("pagealice");
  const bob = await newUser("pagebob");
  await dm("pagealice", "pagebob");
  await openConversation(alice, "pagebob");
  await attach(alice, [
    { name: "page.html", mimeType: "text/html", buffer: Buffer.from(PAGE) },
    { name: "drawing.svg", mimeType: "image/svg+xml", buffer: Buffer.from(SVG) },
  ]);
  await allUploaded(alice, 2);
  await alice.page.getByLabel("Message", { exact: true }).fill("two pages");
  await alice.page.getByLabel("Message", { exact: true }).press("Enter");

  await openConversation(bob, "pagealice");
  const cards = bob.page.locator("a.file-card");
  await cards.nth(1).waitFor({ timeout: 10000 });
  assert.equal(await bob.page.locator('img[alt="drawing.svg"]').count(), 0, "an SVG is never drawn as a picture");
  const hrefs = [];
  for (const file of ["page.html", "drawing.svg"]) {
    const card = cards.filter({ hasText: file });
    assert.equal(await card.getAttribute("download"), file);
    const href = await card.getAttribute("href");
    hrefs.push(href);
    const served = await fetch(new URL(href, base()));
    assert.match(served.headers.get("content-disposition"), /^attachment/, `${file} is served as an attachment`);
    assert.equal(served.headers.get("content-type"), "application/octet-stream");
    assert.match(served.headers.get("content-security-policy"), /sandbox/);
    // Clicking the card downloads it.
    const download = bob.page.waitForEvent("download");
    await card.click();
    assert.equal((await download).suggestedFilename(), file);
  }

  // Straight to the URL, in a tab of the same browser: a download, never a page that runs.
  const tab = await newTab(bob);
  for (const href of hrefs) {
    const download = tab.page.waitForEvent("download");
    await tab.page.goto(new URL(href, base()).href).catch(() => {}); // "Download is starting"
    await download;
    if (tab.page.url().startsWith(base())) assert.equal(await tab.page.evaluate(() => window.__pwned), undefined);
  }
  await bob.page.waitForTimeout(300);
  assert.equal(await bob.page.evaluate(() => localStorage.getItem("pwned")), null, "no script of those files ran on this origin");
  assert.equal(await bob.page.evaluate(() => window.__pwned), undefined);
});

test("files: an upload whose first PATCH fails on the way resumes, and the file arrives whole", async () => {
  const alice = await newUser("resumealice");
  await newUser("resumebob");
  const c = await dm("resumealice", "resumebob");
  await openConversation(alice, "resumebob");
  // The first PATCH fails on the way; the last one waits until the chip's progress was seen.
  const seen = [];
  let letThrough;
  const gate = new Promise((resolve) => { letThrough = resolve; });
  await alice.page.route(/\/api\/v1\/uploads\/[^/]+$/, async (route) => {
    const method = route.request().method();
    seen.push(method);
    const patches = seen.filter((m) => m === "PATCH").length;
    if (method === "PATCH" && patches === 1) return route.abort("connectionreset");
    if (method === "PATCH" && patches === 3) await gate;
    return route.continue();
  });
  // Two chunks' worth (4 MiB each), so that progress and the resume are both exercised.
  const big = Buffer.alloc(5 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 256;
  await attach(alice, [{ name: "archive.bin", mimeType: "application/octet-stream", buffer: big }]);
  await chips(alice, "uploading").locator(".chip-meta", { hasText: "4 MB of 5 MB" }).waitFor({ timeout: 20000 });
  assert.equal(await chips(alice).locator("progress").evaluate((p) => p.value / p.max > 0.7), true, "the bar shows how far it got");
  assert.equal(await alice.page.getByRole("button", { name: "Send" }).isDisabled(), true, "Send waits for the upload");
  await shot(alice.page, "files-uploading.png");
  letThrough();
  await allUploaded(alice, 1);
  assert.deepEqual(seen.slice(0, 3), ["PATCH", "HEAD", "PATCH"], `the dropped PATCH is followed by a HEAD, then the PATCH again: ${seen}`);
  await alice.page.getByRole("button", { name: "Send" }).click();
  await alice.page.locator("a.file-card", { hasText: "archive.bin" }).waitFor({ timeout: 10000 });

  const [m] = (await api("resumebob", "GET", `/api/v1/conversations/${c.id}/messages`)).messages.filter((x) => x.attachments?.length);
  const [file] = m.attachments;
  assert.equal(file.size, big.length);
  const served = Buffer.from(await (await fetch(new URL(file.url, base()))).arrayBuffer());
  assert.equal(createHash("sha256").update(served).digest("hex"), createHash("sha256").update(big).digest("hex"), "the very same bytes");
  assert.equal(file.sha256, createHash("sha256").update(big).digest("hex"));
  await alice.page.unrouteAll({ behavior: "ignoreErrors" });
});

test("files: an upload paused mid-way keeps its place and Send waits; resumed, it goes on from the server's offset and arrives", async () => {
  const alice = await newUser("pausealice", { width: 1200, height: 800 });
  const bob = await newUser("pausebob");
  const c = await dm("pausealice", "pausebob");
  await openConversation(alice, "pausebob");
  await openConversation(bob, "pausealice");
  // Each PATCH's answer comes late, so that one is always on its way when Pause is clicked.
  // Seen: "PATCH <offset sent>" and "HEAD <offset answered>".
  const seen = [];
  await alice.page.route(/\/api\/v1\/uploads\/[^/]+$/, async (route) => {
    const method = route.request().method();
    if (method === "DELETE") seen.push(method);
    if (method === "PATCH") seen.push(`PATCH ${route.request().headers()["upload-offset"]}`);
    if (method !== "PATCH" && method !== "HEAD") return route.continue();
    try {
      const response = await route.fetch();
      if (method === "HEAD") seen.push(`HEAD ${response.headers()["upload-offset"]}`);
      else await new Promise((resolve) => setTimeout(resolve, 700));
      await route.fulfill({ response });
    } catch { /* the page dropped the request: a pause */ }
  });
  // Three chunks: 4 MiB, 4 MiB and 1 MiB.
  const big = Buffer.alloc(9 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 13 + (i >> 12)) % 256;
  await attach(alice, [{ name: "film.bin", mimeType: "application/octet-stream", buffer: big }]);
  const chip = chips(alice).filter({ hasText: "film.bin" });
  const send = alice.page.getByRole("button", { name: "Send" });
  await chip.locator(".chip-meta", { hasText: "4 MB of 9 MB" }).waitFor({ timeout: 20000 });
  await alice.page.getByLabel("Message", { exact: true }).fill("the film, at last");

  await chip.getByRole("button", { name: "Pause upload of film.bin" }).click();
  await chips(alice, "paused").waitFor();
  const resume = chip.getByRole("button", { name: "Resume upload of film.bin" });
  await resume.waitFor();
  assert.match(await chip.locator(".chip-meta").textContent(), /^Paused · [48] MB of 9 MB$/);
  const bar = () => chip.locator("progress").evaluate((p) => [p.hidden, p.value]);
  const [hidden, at] = await bar();
  assert.equal(hidden, false, "the bar stays");
  await alice.page.waitForTimeout(1200); // longer than a PATCH's delay: nothing moves while paused
  assert.deepEqual(await bar(), [false, at], "and stays where it was");
  assert.equal(await send.isDisabled(), true, "Send waits while an upload is paused");
  assert.equal(await chips(alice, "paused").count(), 1, "a pause is no failure");
  await alice.page.mouse.move(600, 300); // the button as it looks, not hovered
  await alice.page.waitForTimeout(250);
  await shot(alice.page, "files-paused.png");
  await checkA11y(alice.page, "a paused upload (light)");
  await dark(alice.page);
  await checkA11y(alice.page, "a paused upload (dark)");
  await shot(alice.page, "files-paused-dark.png");
  await alice.page.evaluate(() => { delete document.documentElement.dataset.theme; });

  const before = seen.length;
  await resume.click();
  await chip.getByRole("button", { name: "Pause upload of film.bin" }).waitFor();
  await allUploaded(alice, 1);
  const [head, patch] = seen.slice(before, before + 2);
  assert.match(head ?? "", /^HEAD \d+$/, `a resume asks where the server stands first: ${seen}`);
  assert.equal(patch, `PATCH ${head.split(" ")[1]}`, `and goes on from there: ${seen}`);
  assert.equal(seen.includes("DELETE"), false, "the pause kept the upload");
  await send.click();
  await bob.page.locator("a.file-card", { hasText: "film.bin" }).waitFor({ timeout: 10000 });
  await bob.page.locator(".timeline .body", { hasText: "the film, at last" }).waitFor();

  const [m] = (await api("pausebob", "GET", `/api/v1/conversations/${c.id}/messages`)).messages.filter((x) => x.attachments?.length);
  assert.equal(m.attachments[0].sha256, createHash("sha256").update(big).digest("hex"), "the very same bytes");
  await alice.page.unrouteAll({ behavior: "ignoreErrors" });
});

test("files: a refused file says why, offers Retry and can be removed; a dropped file is attached; an eleventh is refused", async () => {
  const alice = await newUser("limitalice", { width: 1200, height: 800 });
  await newUser("limitbob");
  await dm("limitalice", "limitbob");
  await openConversation(alice, "limitbob");
  const send = alice.page.getByRole("button", { name: "Send" });

  // A "PNG" the server cannot read: refused on its last byte, with the reason.
  await attach(alice, [{ name: "broken.png", mimeType: "image/png", buffer: Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from("not really a picture")]) }]);
  const failed = chips(alice, "failed");
  await failed.waitFor({ timeout: 10000 });
  assert.match(await failed.textContent(), /cannot be read/);
  await failed.getByRole("button", { name: "Retry" }).waitFor();
  await alice.page.getByLabel("Message", { exact: true }).fill("with a broken file");
  assert.equal(await send.isDisabled(), true, "nothing is sent while a file is refused");
  await shot(alice.page, "files-refused.png");
  await failed.getByRole("button", { name: "Remove broken.png" }).click();
  await failed.waitFor({ state: "detached" });
  assert.equal(await send.isDisabled(), false);
  await alice.page.getByLabel("Message", { exact: true }).fill("");

  // Dropped on the conversation: the drop zone shows while dragging, the file is attached.
  await alice.page.locator("main.chat").evaluate((main) => {
    const data = new DataTransfer();
    data.items.add(new File(["dropped words"], "dropped.txt", { type: "text/plain" }));
    main.dispatchEvent(new DragEvent("dragenter", { dataTransfer: data, bubbles: true, cancelable: true }));
    window.__zoneShown = !main.querySelector(".drop-zone").hidden;
    main.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
  });
  assert.equal(await alice.page.evaluate(() => window.__zoneShown), true, "the drop zone shows while files are dragged over");
  assert.equal(await alice.page.locator(".drop-zone").isHidden(), true);
  await allUploaded(alice, 1);

  // Ten at most: the eleventh is refused with a message.
  await attach(alice, Array.from({ length: 10 }, (_, i) => ({ name: `note-${i + 1}.txt`, mimeType: "text/plain", buffer: Buffer.from(`note ${i + 1}`) })));
  await alice.page.locator(".tray-note", { hasText: "at most 10 files: one was not added" }).waitFor();
  await allUploaded(alice, 10);
  await shot(alice.page, "files-tray-full.png");
  await alice.page.setViewportSize({ width: 390, height: 844 });
  await shot(alice.page, "files-tray-phone.png");
  await alice.page.setViewportSize({ width: 1200, height: 800 });
  await send.click();
  await alice.page.locator(".timeline .message").filter({ has: alice.page.locator("a.file-card") }).locator("a.file-card").nth(9).waitFor({ timeout: 10000 });
  await alice.page.locator(".conversation", { hasText: "📎 10 files" }).waitFor();
});

test("avatars: a picture chosen in the Me dialog shows for the other side, is removed again; a group gets one; a non-image is refused", async () => {
  const alice = await newUser("avataralice", { width: 1440, height: 900 });
  const bob = await newUser("avatarbob", { width: 1440, height: 900 });
  const c = await dm("avataralice", "avatarbob");
  await api("avataralice", "POST", `/api/v1/conversations/${c.id}/messages`, { body: "my new picture, do you like it?" });

  await alice.page.getByRole("button", { name: /^Me:/ }).click();
  const me = alice.page.getByRole("dialog", { name: "Me", exact: true });
  const choose = async (dialog, file) => {
    const chooser = alice.page.waitForEvent("filechooser");
    await dialog.getByRole("button", { name: /^(Upload a|Change) picture$/ }).click();
    await (await chooser).setFiles(file);
  };
  await choose(me, { name: "notes.png", mimeType: "image/png", buffer: Buffer.from("plain words, no picture") });
  await me.locator(".picture-status.error", { hasText: "Not a picture Confab can use" }).waitFor({ timeout: 10000 });
  await choose(me, { name: "me.png", mimeType: "image/png", buffer: square(200, 60, 90) });
  await me.getByText("Picture saved.").waitFor({ timeout: 10000 });
  await me.locator(".me-card .avatar.has-picture").waitFor();
  await shot(alice.page, "avatar-me.png");
  await me.getByRole("button", { name: "Close" }).click();
  const mine = alice.page.locator(".me-avatar img.avatar-picture");
  await mine.waitFor();
  assert.match(await mine.getAttribute("src"), /\/api\/v1\/avatars\//);

  // No event says a picture changed: Bob sees it once he reads the list again (a reload), or
  // opens the profile.
  await bob.page.reload();
  const listed = bob.page.locator(".conversation", { hasText: "avataralice" }).locator(".avatar.has-picture");
  await listed.waitFor({ timeout: 10000 });
  await openConversation(bob, "avataralice");
  await bob.page.locator(".chat-header .avatar.has-picture").waitFor();
  await bob.page.locator(".timeline .message.head .avatar.has-picture").first().waitFor();
  await bob.page.locator(".chat-header").getByRole("button", { name: "avataralice" }).click();
  const profile = bob.page.getByRole("dialog", { name: "Profile" });
  await profile.locator(".avatar.has-picture").waitFor();
  await bob.page.waitForTimeout(250);
  await shot(bob.page, "avatar-profile.png");
  await bob.page.keyboard.press("Escape");

  await alice.page.getByRole("button", { name: /^Me:/ }).click();
  await me.getByRole("button", { name: "Remove picture" }).click();
  await me.getByText("Picture removed.").waitFor();
  await me.getByRole("button", { name: "Close" }).click();
  await mine.waitFor({ state: "detached" });
  assert.equal((await api("avatarbob", "GET", `/api/v1/users/${await userId("avataralice")}`)).avatar_url, undefined);

  // A group's picture, by its owner; the members see it at once.
  const g = await api("avataralice", "POST", "/api/v1/conversations", { kind: "group", name: "Picture club", members: [] });
  await api("avataralice", "POST", `/api/v1/conversations/${g.id}/members`, { members: [await userId("avatarbob")] });
  await openConversation(alice, "Picture club");
  await alice.page.getByRole("button", { name: "Members" }).click();
  const members = alice.page.getByRole("dialog", { name: "Members" });
  await choose(members, { name: "club.png", mimeType: "image/png", buffer: square(20, 160, 220) });
  await members.getByText("Picture saved.").waitFor({ timeout: 10000 });
  await alice.page.locator(".chat-header .avatar.has-picture").waitFor();
  await bob.page.locator(".conversation", { hasText: "Picture club" }).locator(".avatar.has-picture").waitFor({ timeout: 10000 });
  await shot(alice.page, "avatar-group.png");
  await checkA11y(alice.page, "group details with a picture");
});
