// Groups that are easy to run, with three people at once: several members added in one go,
// details edited, ownership handed over, leaving, removing and deleting asked first, and the
// change history readable.

import assert from "node:assert/strict";
import { api, group, newUser, openConversation, shot, test } from "../harness.mjs";

test("an owner adds several members at once, edits the details and reads the history", async () => {
  const owner = await newUser("runner", { width: 1440, height: 900 });
  const ann = await newUser("gann");
  await newUser("gbea");
  await group("runner", "Run club", []);
  await openConversation(owner, "Run club");
  await owner.page.getByRole("button", { name: "Members" }).click();
  let members = owner.page.getByRole("dialog", { name: "Members" });
  await members.getByRole("button", { name: "Add members" }).click();
  const picker = owner.page.getByRole("dialog", { name: "Add members" });
  const add = picker.getByRole("button", { name: "Add", exact: true });
  assert.equal(await add.isDisabled(), true, "nothing chosen, nothing to add");
  await picker.getByLabel("Search users").fill("gann");
  await picker.getByRole("checkbox", { name: /gann/ }).check();
  await picker.getByLabel("Search users").fill("gbea");
  await picker.getByRole("checkbox", { name: /gbea/ }).check();
  await picker.locator(".chip").nth(1).waitFor();
  await add.click();
  await owner.page.locator(".chat-header", { hasText: "3 members" }).waitFor();
  await ann.page.locator(".conversation", { hasText: "Run club" }).waitFor();

  await owner.page.getByRole("button", { name: "Members" }).click();
  members = owner.page.getByRole("dialog", { name: "Members" });
  await members.getByLabel("Group name").fill("Running club");
  await members.getByLabel("Topic").fill("Tuesdays, 7 am, the park");
  await members.getByLabel("Avatar URL").fill("https://example.com/run.png");
  await members.getByRole("button", { name: "Save details" }).click();
  // The dialog closes once the server answered; the header may change before that (its event
  // can come first), so wait for the dialog too before opening it again.
  await members.waitFor({ state: "detached" });
  await owner.page.locator(".chat-header", { hasText: "Tuesdays, 7 am, the park" }).waitFor();
  await ann.page.locator(".conversation", { hasText: "Running club" }).waitFor();
  await owner.page.getByRole("button", { name: "Members" }).click();
  await members.getByLabel("Topic").waitFor();
  await owner.page.waitForTimeout(300); // the dialog's fade-in is over
  await shot(owner.page, "members.png");
  await members.getByRole("button", { name: "Close" }).click();
  // A bad avatar URL is refused with the server's reason, and nothing changes.
  await owner.page.getByRole("button", { name: "Members" }).click();
  await members.getByLabel("Avatar URL").fill("javascript:alert(1)");
  await members.getByRole("button", { name: "Save details" }).click();
  await members.locator(".error", { hasText: /./ }).waitFor();
  assert.equal((await api("gann", "GET", "/api/v1/conversations")).conversations.find((c) => c.name === "Running club").avatar_url, "https://example.com/run.png");

  await members.getByRole("button", { name: "History" }).click();
  const history = owner.page.getByRole("dialog", { name: "Group history" });
  await history.getByText("set the topic to").waitFor();
  const text = await history.textContent();
  for (const words of ["created the group", "added", "renamed it from", "Run club", "Running club", "changed the avatar"]) assert.ok(text.includes(words), `${words} in ${text}`);
  await shot(owner.page, "group-history.png");
});

test("ownership moves with a confirmation, the old owner can then leave, removal and deletion ask first", async () => {
  const owner = await newUser("handover");
  const heir = await newUser("heir");
  const third = await newUser("thirdwheel");
  await group("handover", "Handover club", ["heir", "thirdwheel"]);
  await openConversation(owner, "Handover club");
  await owner.page.locator(".chat-header", { hasText: "3 members" }).waitFor();
  await owner.page.getByRole("button", { name: "Members" }).click();
  const members = owner.page.getByRole("dialog", { name: "Members" });

  // The owner cannot simply leave: the dialog says what to do.
  await members.getByRole("button", { name: "Leave" }).click();
  await members.getByText("make someone else the owner first").waitFor();

  // Removing asks first; Cancel keeps the member.
  await members.locator(".person", { hasText: "thirdwheel" }).getByRole("button", { name: "Remove" }).click();
  await owner.page.getByRole("dialog", { name: "Remove from the group?" }).getByRole("button", { name: "Cancel" }).click();
  assert.equal((await api("handover", "GET", "/api/v1/conversations")).conversations[0].member_count, 3);

  await members.locator(".person", { hasText: "heir" }).getByRole("button", { name: "Make owner" }).click();
  const confirm = owner.page.getByRole("dialog", { name: "Make them the owner?" });
  assert.equal(await confirm.evaluate((d) => document.activeElement.textContent), "Cancel", "the safe choice has the focus");
  await confirm.getByRole("button", { name: "Transfer ownership" }).click();
  await openConversation(heir, "Handover club");
  await heir.page.getByRole("button", { name: "Members" }).click();
  await heir.page.getByRole("dialog", { name: "Members" }).getByRole("button", { name: "Delete group" }).waitFor();
  await heir.page.getByRole("dialog", { name: "Members" }).getByRole("button", { name: "Close" }).click();

  // The old owner (now an admin) leaves, after saying yes.
  await owner.page.getByRole("button", { name: "Members" }).click();
  await members.getByRole("button", { name: "Leave" }).click();
  await owner.page.getByRole("dialog", { name: "Leave this group?" }).getByRole("button", { name: "Leave" }).click();
  await owner.page.getByText("You are no longer a member of this conversation.").waitFor();

  // The new owner deletes it: Cancel first changes nothing, then yes removes it everywhere.
  await heir.page.getByRole("button", { name: "Members" }).click();
  const heirs = heir.page.getByRole("dialog", { name: "Members" });
  await heirs.getByRole("button", { name: "Delete group" }).click();
  await heir.page.getByRole("dialog", { name: "Delete this group?" }).getByRole("button", { name: "Cancel" }).click();
  await third.page.locator(".conversation", { hasText: "Handover club" }).waitFor();
  await heirs.getByRole("button", { name: "Delete group" }).click();
  await heir.page.getByRole("dialog", { name: "Delete this group?" }).getByRole("button", { name: "Delete group" }).click();
  await third.page.locator(".conversation", { hasText: "Handover club" }).waitFor({ state: "detached", timeout: 10000 });
});
