// The client embedded in another site's iframe: it comes up even where the browser refuses it
// storage, only the configured embedders may frame it, and it checks who frames it.

import { join } from "node:path";
import assert from "node:assert/strict";
import { base, newPage, register, send, shots, startPageServer, test } from "../harness.mjs";

// The host app's page: it frames Confab and hands it the token from its own address (#token).
const hostPage = (url) => {
  const confab = url.searchParams.get("confab");
  const origin = url.searchParams.get("origin");
  return `<!doctype html><title>Host app</title><h1>Host app</h1>
<iframe id="chat" src="${confab}/?embed=1&origin=${encodeURIComponent(origin)}" style="width: 900px; height: 600px"></iframe>
<script>
  addEventListener("message", (e) => {
    if (e.origin === ${JSON.stringify(new URL(confab || "http://x").origin)} && e.data?.type === "confab.ready") {
      e.source.postMessage({ type: "confab.token", token: decodeURIComponent(location.hash.slice(1)) }, e.origin);
    }
  });
</script>`;
};

// Two sites: the host app on `localhost` (allowed to frame) and an intruder (another port, not).
const host = await startPageServer(hostPage);
const intruder = await startPageServer(hostPage);
const hostOrigin = `http://localhost:${host.port}`;
export const embedServerArgs = ["--web-frame-ancestors", `'self',${hostOrigin}`];
export const stopPageServers = () => Promise.all([host.close(), intruder.close()]);

// In a cross-site iframe, storage may be refused outright: reading it throws.
const refuseStorage = () => {
  if (window === window.top) return;
  for (const name of ["localStorage", "sessionStorage"]) {
    Object.defineProperty(window, name, { configurable: true, get() { throw new DOMException(`${name} is not available`, "SecurityError"); } });
  }
};

test("embedded cross-site with storage refused: the client comes up and says the session will not persist", async () => {
  const access = await register("embedded");
  const { page } = await newPage("embedded", { width: 1000, height: 700, init: refuseStorage });
  await page.goto(`${hostOrigin}/?confab=${encodeURIComponent(base())}&origin=${encodeURIComponent(hostOrigin)}#${access}`);
  const frame = page.frameLocator("#chat");
  await frame.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
  await frame.getByText("reloading the page signs you out").waitFor();
  assert.ok(await page.frames()[1].evaluate(() => { try { localStorage; return false; } catch { return true; } }), "storage really throws in the frame");
  await frame.getByRole("button", { name: "Switch theme" }).click();
  await frame.getByRole("button", { name: "New group" }).click();
  await frame.getByLabel("Group name").fill("Embedded club");
  await frame.getByRole("button", { name: "Create" }).click();
  const box = frame.getByLabel("Message", { exact: true });
  await box.fill("sent from the iframe");
  await box.press("Enter");
  await frame.locator(".message:not(.pending)", { hasText: "sent from the iframe" }).waitFor();
  await page.screenshot({ path: join(shots, "embedded.png") });
});

test("embedding: a site not configured may not frame the client, and a wrong origin parameter is refused", async () => {
  const access = await register("framed");
  const intruderOrigin = `http://localhost:${intruder.port}`;
  const { page } = await newPage("framed");
  // The CSP's frame-ancestors blocks the intruder: the frame never shows the client.
  await page.goto(`${intruderOrigin}/?confab=${encodeURIComponent(base())}&origin=${encodeURIComponent(intruderOrigin)}#${access}`);
  await page.waitForTimeout(1500);
  const inner = page.frames()[1];
  assert.equal(await inner.locator("#app").count(), 0, `the intruder's frame stays empty (${inner.url()})`);
  // The allowed host, but the client is told to trust another origin: it refuses to start.
  await page.goto(`${hostOrigin}/?confab=${encodeURIComponent(base())}&origin=${encodeURIComponent("https://evil.example")}#${access}`);
  await page.frameLocator("#chat").getByText("Confab cannot start here").waitFor();
});
