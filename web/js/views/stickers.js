// Stickers while writing (docs/protocol.md "Stickers"): the composer's picker — a tab per pack, a
// grid driven by the arrow keys, search by shortcode or description; choosing one sends it — and,
// for the server's sticker admins, the view that manages the packs: create a pack, add a sticker
// from an image (uploaded as any attachment, then named), remove a sticker, delete a pack. What
// cannot be undone asks first.

import { announce, clear, dialog, h, mediaUrl, modal, name } from "../dom.js";
import { Upload } from "../uploads.js";
import { MAX_STICKER_BODY, matchStickers, shortcodeProblem, STICKER_TYPES, stickerFileProblem } from "../stickers.js";
import { choiceGrid } from "./grid.js";

/** Cells per row of the picker. */
const COLUMNS = 4;

/** The packs as the server has them now, kept in `state.stickers` ({packs, can_manage}). */
export async function loadStickers(ctx) {
  ctx.state.stickersReadAt = Date.now();
  const list = await ctx.api.get("/api/v1/sticker-packs");
  ctx.state.stickers = { packs: list.packs || [], can_manage: Boolean(list.can_manage) };
  ctx.state.changed("stickers");
  return ctx.state.stickers;
}

/** A sticker's picture, decorative where its description is written beside it. */
function stickerImage(sticker, alt = "") {
  const img = h("img.sticker-image", { src: mediaUrl(sticker.url), alt, width: sticker.width, height: sticker.height, decoding: "async", loading: "lazy", draggable: "false" });
  return img;
}

/**
 * Opens the picker; resolves with the chosen sticker, or null when it is closed without one.
 * Focus returns to `opener`.
 */
export async function pickSticker(ctx, opener = null) {
  const { state } = ctx;
  let data = state.stickers || { packs: [], can_manage: false };
  let tab = 0;
  const query = h("input.sticker-search", { type: "search", placeholder: "Search stickers", "aria-label": "Search stickers", autocomplete: "off" });
  const tabs = h("div.picker-tabs", { role: "tablist", "aria-label": "Sticker packs" });
  const grid = choiceGrid({ label: "Stickers", columns: COLUMNS, className: "sticker-grid", before: query });
  const status = h("p.picker-status", { role: "status" });
  const preview = h("p.picker-preview", { "aria-hidden": "true" });
  const empty = h("p.muted.picker-empty", { hidden: true });
  let manage = false;

  const box = dialog({
    title: "Stickers",
    className: "sticker-picker",
    body: [query, tabs, empty, grid.element, h("div.picker-foot", preview, status)],
    actions: [
      ...(data.can_manage ? [{ label: "Manage sticker packs", class: "secondary", value: null, onClick: () => { manage = true; } }] : []),
      { label: "Close", value: null, class: "secondary" },
    ],
    focus: query,
  });

  const packs = () => data.packs.filter((p) => p.stickers.some((s) => s.url));

  function render() {
    const searching = query.value.trim();
    const shown = packs();
    tab = Math.min(tab, Math.max(0, shown.length - 1));
    clear(tabs, shown.map((pack, index) => h("button.picker-tab", {
      type: "button", role: "tab", "aria-selected": String(!searching && index === tab), tabindex: index === tab ? "0" : "-1",
      dataset: { index },
      on: { click: () => { tab = index; query.value = ""; grid.reset(); render(); } },
    }, name(pack.name))));
    tabs.hidden = shown.length < 2 && !searching;
    const list = searching ? matchStickers(shown, searching) : (shown[tab]?.stickers || []).filter((s) => s.url);
    grid.show(list, (sticker) => h("button.sticker-cell", {
      type: "button", "aria-label": sticker.body, title: `:${sticker.shortcode}: ${sticker.body}`,
      on: { click: () => box.close(sticker), focus: () => say(sticker), mouseenter: () => say(sticker) },
    }, stickerImage(sticker)));
    grid.element.setAttribute("aria-label", searching ? "Search results" : shown[tab]?.name || "Stickers");
    status.textContent = searching ? (list.length ? `${list.length} ${list.length === 1 ? "sticker" : "stickers"} found` : "No stickers found") : "";
    empty.hidden = shown.length > 0;
    empty.textContent = data.can_manage ? "No stickers yet. Make a pack and add some with Manage sticker packs." : "This server has no stickers yet.";
    query.hidden = !shown.length;
    preview.textContent = "";
  }
  const say = (sticker) => { preview.textContent = `:${sticker.shortcode}: ${sticker.body}`; };

  query.addEventListener("input", () => { grid.reset(); render(); });
  query.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); grid.focus(0); }
    // Enter takes the first match: ":wave" and Enter sends it.
    if (e.key === "Enter") { e.preventDefault(); grid.cells()[0]?.click(); }
  });
  tabs.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowRight" && e.key !== "ArrowLeft") return;
    e.preventDefault();
    const all = [...tabs.querySelectorAll(".picker-tab")];
    const next = all[(all.indexOf(document.activeElement) + (e.key === "ArrowRight" ? 1 : -1) + all.length) % all.length];
    next.click();
    tabs.querySelector(`[data-index="${next.dataset.index}"]`)?.focus();
  });

  render();
  // What the server has now (a pack may have come or gone since the app loaded): drawn again only
  // if it differs, and then with focus where it was, as someone may be choosing already.
  loadStickers(ctx).then((fresh) => {
    const same = JSON.stringify(fresh.packs) === JSON.stringify(data.packs);
    data = fresh;
    if (same || !box.overlay.isConnected) return;
    const cell = grid.element.contains(document.activeElement) ? Number(document.activeElement.dataset.cell) : null;
    render();
    if (cell !== null) grid.focus(cell);
  }).catch(() => {});
  if (!state.stickers) status.textContent = "Loading…";
  const chosen = await box.closed;
  if (manage) {
    await manageStickers(ctx).closed;
    return pickSticker(ctx, opener);
  }
  if (opener?.isConnected) opener.focus();
  return chosen;
}

/** The manage view of the server's sticker admins. Returns the dialog ({closed, …}). */
export function manageStickers(ctx) {
  const { api, state } = ctx;
  const packsList = h("div.sticker-packs");
  const error = h("p.error", { role: "alert" });
  const newName = h("input", { type: "text", maxlength: "64", required: true, autocomplete: "off" });
  const create = h("form.sticker-new-pack", { on: { submit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    if (!newName.value.trim()) { error.textContent = "Give the pack a name."; return newName.focus(); }
    try {
      const pack = await api.post("/api/v1/sticker-packs", { name: newName.value.trim() });
      newName.value = "";
      await refresh();
      announce(`Pack ${pack.name} created.`);
      packsList.querySelector(`[data-pack="${CSS.escape(pack.id)}"] input[type=file]`)?.focus();
    } catch (err) {
      error.textContent = err.message;
    }
  } } },
  h("label", "Pack name", newName), h("button", { type: "submit" }, "Create pack"));

  const box = dialog({
    title: "Sticker packs",
    wide: true,
    className: "sticker-manage",
    body: [h("section.section", { "aria-labelledby": "sticker-new-title" }, h("h3#sticker-new-title", "New pack"), create, error), packsList],
    focus: newName,
  });

  async function refresh() {
    const data = await loadStickers(ctx);
    clear(packsList, data.packs.length ? data.packs.map(packSection) : h("p.muted", "No packs yet."));
  }

  function packSection(pack) {
    const titleId = `pack-${pack.id}`;
    const stickers = pack.stickers.filter((s) => s.url);
    const remove = h("button.danger", { type: "button", on: { click: async () => {
      if (!(await modal(`Delete the pack ${pack.name}?`, `Its ${stickers.length === 1 ? "sticker" : `${stickers.length} stickers`} can no longer be sent; messages that showed them say “Sticker removed”.`, "Delete pack", { danger: true }))) return;
      try { await api.del(`/api/v1/sticker-packs/${pack.id}`); await refresh(); announce(`Pack ${pack.name} deleted.`); newName.focus(); }
      catch (err) { modal("Delete pack", err.message); }
    } } }, "Delete pack");
    return h("section.section.sticker-pack", { "aria-labelledby": titleId, dataset: { pack: pack.id } },
      h("div.pack-title", h(`h3#${titleId}`, name(pack.name)), remove),
      stickers.length ? h("ul.sticker-list", { "aria-label": `Stickers of ${pack.name}` }, stickers.map((s) => stickerRow(pack, s))) : h("p.muted", "No stickers in this pack yet."),
      addForm(pack));
  }

  function stickerRow(pack, sticker) {
    return h("li.sticker-row",
      stickerImage(sticker),
      h("span.sticker-words", h("code", `:${sticker.shortcode}:`), h("span", h("bdi", sticker.body))),
      h("button.secondary", { type: "button", "aria-label": `Remove :${sticker.shortcode}: (${sticker.body})`, on: { click: async () => {
        if (!(await modal(`Remove :${sticker.shortcode}:?`, "It can no longer be sent; messages that showed it say “Sticker removed”.", "Remove", { danger: true }))) return;
        try { await api.del(`/api/v1/sticker-packs/${pack.id}/stickers/${sticker.id}`); await refresh(); announce(`:${sticker.shortcode}: removed.`); }
        catch (err) { modal("Remove sticker", err.message); }
      } } }, "Remove"));
  }

  function addForm(pack) {
    const id = `add-${pack.id}`;
    const file = h("input", { type: "file", accept: STICKER_TYPES.join(","), id: `${id}-file` });
    const shortcode = h("input", { type: "text", id: `${id}-code`, maxlength: "32", autocomplete: "off", spellcheck: "false", "aria-describedby": `${id}-code-hint` });
    const body = h("input", { type: "text", id: `${id}-body`, maxlength: String(MAX_STICKER_BODY), autocomplete: "off", "aria-describedby": `${id}-body-hint` });
    const status = h("p.sticker-status", { role: "status" });
    const problem = h("p.error", { role: "alert" });
    const submit = h("button", { type: "submit" }, "Add sticker");
    // A shortcode from the file's name, as a start ("Waving Gull.png" → "waving_gull").
    file.addEventListener("change", () => {
      const [chosen] = file.files;
      problem.textContent = chosen ? stickerFileProblem(chosen) || "" : "";
      if (chosen && !shortcode.value) shortcode.value = chosen.name.replace(/\.[^.]*$/, "").toLowerCase().replace(/[^a-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 32);
    });
    const form = h("form.sticker-add", { "aria-label": `Add a sticker to ${pack.name}`, on: { submit: async (e) => {
      e.preventDefault();
      problem.textContent = "";
      const [chosen] = file.files;
      const wrong = stickerFileProblem(chosen) || shortcodeProblem(shortcode.value) || (body.value.trim() ? null : "Describe the sticker: it is what people who cannot see it read.");
      if (wrong) { problem.textContent = wrong; return; }
      submit.disabled = true;
      const upload = new Upload(api, chosen);
      upload.addEventListener("change", () => { if (upload.state === "uploading" && chosen.size) status.textContent = `Uploading… ${Math.round((100 * upload.sent) / chosen.size)}%`; });
      status.textContent = "Uploading…";
      try {
        const uploadId = await upload.start();
        const sticker = await api.post(`/api/v1/sticker-packs/${pack.id}/stickers`, { shortcode: shortcode.value, body: body.value.trim(), upload_id: uploadId });
        await refresh();
        announce(`:${sticker.shortcode}: added to ${pack.name}.`);
        packsList.querySelector(`[data-pack="${CSS.escape(pack.id)}"] input[type=file]`)?.focus();
      } catch (err) {
        // Refused (too large, not an image, a shortcode taken): the upload is of no use now.
        if (upload.state === "complete") upload.cancel();
        status.textContent = "";
        problem.textContent = err.message;
        submit.disabled = false;
      }
    } } },
    h("h4", "Add a sticker"),
    h("div.sticker-fields",
      h("label", { for: file.id }, "Image", h("span.muted", " (PNG, JPEG, GIF or WebP; at most 512 KB and 512 × 512)")), file,
      h("label", { for: shortcode.id }, "Shortcode"), shortcode,
      h(`p.muted.hint#${id}-code-hint`, "Lowercase letters, digits, _ and -; people search by it (:wave:)."),
      h("label", { for: body.id }, "Description"), body,
      h(`p.muted.hint#${id}-body-hint`, "What it shows: the text of the sticker for people who cannot see it.")),
    problem, h("div.actions", status, submit));
    return form;
  }

  packsList.append(h("p.muted", "Loading…"));
  refresh().catch((err) => clear(packsList, h("p.error", { role: "alert" }, err.message)));
  return box;
}
