// Staying signed in: the session survives a new tab and a browser restart, no script can read
// the refresh token, tabs refreshing together do not trip reuse detection, and signing out (here
// or everywhere) really ends sessions.

import assert from "node:assert/strict";
import { api, base, browser, newTab, newUser, openPages, PASSWORD, shot, signInPage, test } from "../harness.mjs";

const online = (page) => page.locator(".connection[data-status=online]").waitFor({ timeout: 15000 });
// Every refresh takes 300 ms on the wire, so tabs booting together really overlap: each request
// carries the cookie as it was when it left.
const slowRefresh = (context) => context.route("**/api/v1/auth/refresh", async (route) => {
  await new Promise((r) => setTimeout(r, 300));
  await route.continue();
});
const signInForm = (page) => page.getByRole("button", { name: "Sign in" }).waitFor({ timeout: 15000 });

test("the session survives a new tab and a browser restart, and no script can read the refresh token", async () => {
  const user = await newUser("keeper", { width: 1440, height: 900 });
  // A new tab of the same browser: straight in, no password.
  const tab = await newTab(user);
  await tab.page.goto(base());
  await online(tab.page);
  assert.equal(await tab.page.getByLabel("Password").count(), 0, "no sign-in form");

  // Where the token is: an HttpOnly cookie for /api/v1/auth only; nothing in the page's reach.
  const cookies = await user.context.cookies(); // all: the cookie is not for "/"
  const refresh = cookies.find((c) => c.name === "confab_refresh");
  assert.ok(refresh, "the refresh cookie is set");
  assert.equal(refresh.httpOnly, true);
  assert.equal(refresh.sameSite, "Strict");
  assert.equal(refresh.path, "/api/v1/auth");
  assert.ok(refresh.expires > Date.now() / 1000 + 86400, "it outlives the browser session");
  const visible = await tab.page.evaluate(() => ({
    cookie: document.cookie,
    stored: JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }),
  }));
  assert.ok(!visible.cookie.includes("confab_refresh"), `document.cookie: ${visible.cookie}`);
  assert.ok(!visible.stored.includes(refresh.value) && !/eyJ[\w-]+\.[\w-]+\./.test(visible.stored), `web storage holds no token: ${visible.stored}`);

  // A browser restart keeps persistent cookies and local storage, and nothing else.
  const saved = await user.context.storageState();
  const restarted = await browser.newContext({ viewport: { width: 1440, height: 900 }, storageState: saved });
  const page = await restarted.newPage();
  openPages.push({ name: "restarted", page });
  await page.goto(base());
  await online(page);
  assert.match(await page.locator(".me .name").textContent(), /keeper/);
});

test("tabs opened together share the session without tripping refresh-token reuse detection", async () => {
  const user = await newUser("manytabs");
  // Four tabs boot at once: each refreshes with the one cookie. Serialized (Web Locks), each
  // sends the cookie the previous one received; unserialized, the server would see a reused
  // token and revoke the session.
  await slowRefresh(user.context);
  const tabs = await Promise.all([1, 2, 3, 4].map((i) => newTab(user, `manytabs-${i}`)));
  await Promise.all(tabs.map((t) => t.page.goto(base())));
  await Promise.all(tabs.map((t) => online(t.page)));
  // Still one live session, and every tab's token works.
  for (const t of tabs) {
    const status = await t.page.evaluate(async () => (await fetch("/api/v1/me/sessions", { headers: { "X-Probe": "1" } })).status);
    assert.equal(status, 401, "a request without the in-memory token is refused (nothing ambient)");
  }
  const sessions = await api("manytabs", "GET", "/api/v1/me/sessions");
  // The harness's own REST login is one session; the browser's is the other.
  assert.equal(sessions.sessions.length, 2, JSON.stringify(sessions.sessions.map((s) => s.user_agent)));
  const another = await newTab(user, "manytabs-5");
  await another.page.goto(base());
  await online(another.page);
});

test("without Web Locks (plain http on a LAN), a lease in localStorage keeps tabs from reusing the refresh token", async () => {
  const noLocks = () => Object.defineProperty(Navigator.prototype, "locks", { configurable: true, get: () => undefined });
  const user = await newUser("nolocks", { init: noLocks });
  assert.equal(await user.page.evaluate(() => navigator.locks), undefined);
  await slowRefresh(user.context);
  const tabs = await Promise.all([1, 2, 3].map((i) => newTab(user, `nolocks-${i}`)));
  await Promise.all(tabs.map((t) => t.page.goto(base())));
  await Promise.all(tabs.map((t) => online(t.page)));
  const again = await newTab(user, "nolocks-4");
  await again.page.goto(base());
  await online(again.page);
});

test("sign out ends this browser's session; sign out everywhere ends every device's", async () => {
  const laptop = await newUser("twodevices", { width: 1440, height: 900 });
  const laptopTab = await newTab(laptop);
  await laptopTab.page.goto(base());
  await online(laptopTab.page);
  // Sign out in one tab: the other tab of that browser follows, and a new tab asks for the password.
  await laptop.page.getByRole("button", { name: "Sign out", exact: true }).click();
  await signInForm(laptop.page);
  await signInForm(laptopTab.page);
  const fresh = await newTab(laptop, "twodevices-fresh");
  await fresh.page.goto(base());
  await signInForm(fresh.page);

  // Two devices signed in; "sign out everywhere" from one ends both.
  await signInPage(laptop.page, "twodevices");
  const phone = await newUser("twodevices-phone-holder", { width: 390, height: 844 });
  await phone.page.getByRole("button", { name: "Sign out", exact: true }).click();
  await signInForm(phone.page);
  await signInPage(phone.page, "twodevices");
  await laptop.page.getByRole("button", { name: /^Me:/ }).click();
  const me = laptop.page.getByRole("dialog", { name: "Me", exact: true });
  await me.locator(".sessions li", { hasText: "This browser" }).waitFor();
  assert.ok(await me.locator(".sessions li").count() >= 2, "both devices are listed");
  await me.getByRole("button", { name: "Sign out everywhere" }).click();
  // Asked first; Cancel keeps everyone signed in.
  const confirm = laptop.page.getByRole("dialog", { name: "Sign out everywhere?" });
  await confirm.getByRole("button", { name: "Cancel" }).click();
  await online(phone.page);
  await me.getByRole("button", { name: "Sign out everywhere" }).click();
  await confirm.getByRole("button", { name: "Sign out everywhere" }).click();
  await signInForm(laptop.page);
  await signInForm(phone.page);
  await shot(phone.page, "signed-out-everywhere-phone.png");
  const login = await fetch(`${base()}/api/v1/auth/login`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username: "twodevices", password: PASSWORD }) });
  assert.equal(login.status, 200, "the account itself is fine");
});
