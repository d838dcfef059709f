// The shared harness of the browser tests: the real `confab` binary on a random port, Debian's
// chromium driven by playwright-core, users signed up through the page, and REST calls beside it.
// Any JavaScript dialog (alert, confirm) fails the run: user content must never execute.

import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { copyFileSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { deflateSync } from "node:zlib";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });
const BIN = process.env.CONFAB_BIN || join(here, "../../target/debug/confab");
export const PASSWORD = "correct horse battery";
export const XSS = `<img src=1 onerror='alert(1)'><script>alert(2)</script>`;

let server = null;
let address = null;
const dataDir = mkdtempSync(join(tmpdir(), "confab-e2e-"));
let extraArgs = [];
// The suite signs up more users from one address than the default rate limits allow.
const configFile = join(dataDir, "confab.toml");
const configParts = ["[auth]\nregistrations_per_ip_per_hour = 10000\nlogin_attempts_per_ip_per_minute = 10000\nlogin_attempts_per_username_per_minute = 10000\n[rate_limits]\nmessages_per_user = \"off\"\nmessages_per_ip = \"off\"\n"];
const egressAllow = [];

/** The file the server reads: the parts added, and one `[egress]` table for every test's
 * helper servers (a TOML table may appear only once). */
function writeConfig() {
  const egress = egressAllow.length ? `[egress]\nallow = ${JSON.stringify(egressAllow)}\n` : "";
  writeFileSync(configFile, configParts.join("") + egress);
}
writeConfig();

/** Adds `toml` to the server's configuration (read when the server starts): a test file that
 * needs a setting of its own, e.g. `[stickers]`. Returns a function that takes it out again (for
 * a test that restarts the server without it). `[egress]` is `allowEgress`'s. */
export function addConfig(toml) {
  if (/^\s*\[egress\]/m.test(toml)) throw new Error("addConfig: use allowEgress() for [egress], which several tests share");
  const part = toml.endsWith("\n") ? toml : `${toml}\n`;
  configParts.push(part);
  writeConfig();
  return () => {
    const at = configParts.indexOf(part);
    if (at >= 0) configParts.splice(at, 1);
    writeConfig();
  };
}

/** Lets the server reach `hostPort` (`127.0.0.1:PORT`, a helper server on loopback) although it
 * is no public address: one `[egress] allow` list for all the tests that need one. */
export function allowEgress(hostPort) {
  egressAllow.push(hostPort);
  writeConfig();
}

/** The server's address, `http://127.0.0.1:PORT` (it keeps its port across a restart). */
export const base = () => address;

export async function startServer(port = 0, args = extraArgs) {
  extraArgs = args;
  const listen = `127.0.0.1:${port}`;
  server = spawn(BIN, ["--config", configFile, "--listen", listen, "--data-dir", dataDir, ...args], {
    env: { ...process.env, RUST_LOG: "warn" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  address = await new Promise((resolve, reject) => {
    let out = "";
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]);
    });
    server.on("exit", (code) => reject(new Error(`confab exited with ${code}`)));
    setTimeout(() => reject(new Error("confab did not start")), 30000);
  });
  return address;
}

export function stopServer() {
  return new Promise((resolve) => {
    if (!server || server.exitCode !== null) return resolve();
    server.once("exit", resolve);
    server.kill("SIGKILL");
  });
}

/** A tiny web server on both loopback addresses (so that `localhost` reaches it), answering
 * every request with `html(url)`: the outer page of the embedding tests. */
export async function startPageServer(html) {
  const pages = createServer((req, res) => {
    res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    res.end(html(new URL(req.url, "http://localhost")));
  });
  await new Promise((resolve) => pages.listen(0, resolve));
  return { port: pages.address().port, close: () => new Promise((r) => pages.close(r)) };
}

export const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});

export const openPages = [];

export async function newPage(name, { width = 1200, height = 800, init = null, context: options = {} } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, ...options });
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  openPages.push({ name, page });
  page.on("dialog", async (dialog) => {
    await dialog.dismiss();
    throw new Error(`a JavaScript dialog opened: ${dialog.message()}`);
  });
  page.on("pageerror", (error) => console.error(`[${name}] page error:`, error.message));
  return { name, context, page };
}

/** Another tab in the same browser (same cookies and storage) as `user`. */
export async function newTab(user, name = `${user.name}-tab`) {
  const page = await user.context.newPage();
  openPages.push({ name, page });
  page.on("dialog", async (dialog) => {
    await dialog.dismiss();
    throw new Error(`a JavaScript dialog opened: ${dialog.message()}`);
  });
  page.on("pageerror", (error) => console.error(`[${name}] page error:`, error.message));
  return { ...user, name, page };
}

/** Signs in through the form (the account exists already). */
export async function signInPage(page, name) {
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
}

export async function newUser(name, options = {}) {
  const user = await newPage(name, options);
  const { page } = user;
  await page.goto(base());
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await page.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
  return user;
}

/** Registers `name` without a browser and returns its access token. */
export async function register(name) {
  const res = await fetch(`${base()}/api/v1/auth/register`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: name, password: PASSWORD }) });
  if (!res.ok) throw new Error(`register ${name}: ${res.status}`);
  return (await res.json()).access_token;
}

const tokens = new Map();

export async function token(user) {
  if (tokens.has(user)) return tokens.get(user);
  const login = await fetch(`${base()}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: user, password: PASSWORD }) });
  const access = (await login.json()).access_token;
  tokens.set(user, access);
  return access;
}

export async function api(user, method, path, body) {
  const access = await token(user);
  const res = await fetch(`${base()}${path}`, { method, headers: { Authorization: `Bearer ${access}`, "Content-Type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
  const data = res.status === 204 ? null : await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(data)}`);
  return data;
}

export const userId = async (name) => (await api(name, "GET", "/api/v1/me")).id;

/** A group owned by `owner` with `members` in it, made over REST. */
export async function group(owner, name, members) {
  const ids = await Promise.all(members.map(userId));
  const c = await api(owner, "POST", "/api/v1/conversations", { kind: "group", name, members: [] });
  if (ids.length) await api(owner, "POST", `/api/v1/conversations/${c.id}/members`, { members: ids });
  return c;
}

export async function openChatWith(user, otherName) {
  await user.page.getByRole("button", { name: "New chat" }).click();
  await user.page.getByLabel("Search users").fill(otherName);
  await user.page.getByRole("button", { name: new RegExp(`@${otherName}$`) }).click();
  await user.page.locator(".chat-header h2", { hasText: otherName }).waitFor();
}

/** A screenshot in web/e2e/screenshots/ (`SHOTS=docs` also copies the ones in DOCS_SHOTS to
 * docs/screenshots/ once the run is over). */
export async function shot(page, file) {
  await page.screenshot({ path: join(shots, file) });
}

/** The screenshots the README and docs show. */
const DOCS_SHOTS = ["chat.png", "group.png", "phone-dark.png", "sign-in.png", "me.png", "members.png", "desktop-dark.png", "phone-list.png", "timeline-desktop-light.png", "timeline-desktop-dark.png", "timeline-phone-menu-dark.png", "timeline-pins.png", "format.png", "emoji-picker.png",
  "tones-light.png", "tones-menu-dark.png", "preview-light.png", "preview-dark.png", "theme-light.png", "theme-dark.png", "theme-settings.png", "theme-phone-dark.png",
  "sticker-picker.png", "sticker-picker-dark.png", "gif-picker.png", "gif-picker-dark.png"];

function copyDocsShots() {
  if (process.env.SHOTS !== "docs") return;
  const docs = join(here, "../../docs/screenshots");
  mkdirSync(docs, { recursive: true });
  for (const file of DOCS_SHOTS) if (existsSync(join(shots, file))) copyFileSync(join(shots, file), join(docs, file));
  console.log(`copied ${DOCS_SHOTS.length} screenshots to docs/screenshots/`);
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core in `target` (a page or a frame) against WCAG 2.1 A and AA; fails on any
 * serious or critical violation, naming the rule and the elements. */
export async function checkA11y(target, what) {
  // Evaluated through the DevTools protocol, so the page's CSP does not block it.
  if (!(await target.evaluate(() => Boolean(window.axe)))) await target.evaluate(axeSource);
  const violations = await target.evaluate(async () => {
    // Colours are measured once they have settled: a dialog that rises or a button whose hover
    // colour fades in would otherwise be judged halfway (infinite animations are not waited for).
    await Promise.all(document.getAnimations().filter((a) => a.effect?.getComputedTiming().endTime !== Infinity).map((a) => a.finished.catch(() => {})));
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] }, resultTypes: ["violations"] });
    return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.slice(0, 5).map((n) => `${n.target.join(" ")} — ${n.failureSummary?.split("\n").slice(1, 2).join("")}`).join("\n    ")}`);
  });
  if (violations.length) throw new Error(`${what}: ${violations.length} serious or critical accessibility violations:\n  ${violations.join("\n  ")}`);
}

export async function openConversation(user, title) {
  await user.page.locator(".conversation", { hasText: title }).first().click();
  await user.page.locator(".chat-header h2", { hasText: title }).waitFor();
}

export async function send(user, text) {
  const box = user.page.getByLabel("Message", { exact: true });
  await box.fill(text);
  await box.press("Enter");
}

export const messageText = (user, text) => user.page.locator(".messages .body", { hasText: text });

/** Nothing in the page is wider than the window (no sideways scrolling). */
export async function assertNoSidewaysScroll(page, what) {
  const { scroll, width } = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
  if (scroll > width) throw new Error(`${what}: the page is ${scroll} px wide in a ${width} px window`);
}

/** `locator` lies wholly inside the window. */
export async function assertInView(page, locator, what) {
  const box = await locator.boundingBox();
  const { width, height } = page.viewportSize();
  if (!box || box.x < 0 || box.y < 0 || box.x + box.width > width + 0.5 || box.y + box.height > height + 0.5) {
    throw new Error(`${what} is not in view: ${JSON.stringify(box)} in ${width}×${height}`);
  }
}

// A PNG encoder, so that the tests make their pictures (uploads, link preview images).

const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (bytes) => { let c = 0xffffffff; for (const b of bytes) c = CRC[(c ^ b) & 255] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };

function chunk(type, data) {
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const out = Buffer.alloc(4 + body.length + 4);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 4 + body.length);
  return out;
}

/** An 8-bit RGB PNG of `width` × `height`, each pixel `colour(x, y)` → [r, g, b]. */
export function png(width, height, colour) {
  const row = width * 3 + 1;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(colour(x, y), y * row + 1 + x * 3);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", header), chunk("IDAT", deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

const tests = [];
export const test = (name, fn) => tests.push({ name, fn });

export async function runAll(serverArgs) {
  let failed = 0;
  const only = process.env.ONLY;
  const chosen = only ? tests.filter((t) => t.name.includes(only)) : tests;
  try {
    await startServer(0, serverArgs);
    for (const [index, { name, fn }] of chosen.entries()) {
      const started = Date.now();
      try {
        // A test that hangs fails on its own instead of holding CI until its limit.
        let timer;
        await Promise.race([fn(), new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("the test took more than 3 minutes")), 180000); })])
          .finally(() => clearTimeout(timer));
        console.log(`ok   ${name} (${Date.now() - started} ms)`);
      } catch (error) {
        failed += 1;
        console.error(`FAIL ${name}\n${error.stack}`);
        for (const { name: who, page } of openPages) {
          await page.screenshot({ path: join(shots, `failure-${index}-${who}.png`) }).catch(() => {});
        }
      }
      for (const { page } of openPages) await page.context().close().catch(() => {});
      openPages.length = 0;
    }
  } finally {
    await browser.close();
    await stopServer();
    if (!failed) copyDocsShots();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(failed ? `${failed} of ${chosen.length} browser tests failed` : `all ${chosen.length} browser tests passed`);
  return failed;
}
