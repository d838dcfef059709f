// The GIF picker (docs/protocol.md "GIFs"): a search of the server's GIF provider — featured ones
// before anything is typed, a search as you stop typing, more on request — in a grid driven by the
// arrow keys, with the provider's attribution. The server asks the provider and serves the
// previews itself, so the browser never contacts it. Choosing one has the server import it as an
// upload of yours; chat.js sends that as an attachment, as a picked file.

import { dialog, h, mediaUrl } from "../dom.js";
import { choiceGrid } from "./grid.js";

const COLUMNS = 3;
/** How long typing must pause before a search goes out. */
export const SEARCH_DELAY_MS = 350;

/** The provider as the server describes it ({enabled, attribution?}), kept in `state.gifs`. */
export async function loadGifProvider(ctx) {
  const provider = await ctx.api.get("/api/v1/gifs/provider");
  ctx.state.gifs = { enabled: Boolean(provider?.enabled), attribution: provider?.attribution || "" };
  ctx.state.changed("gifs");
  return ctx.state.gifs;
}

/**
 * Opens the picker; resolves with the Upload the chosen GIF became (ready to attach), or null
 * when it is closed without one. Focus returns to `opener`.
 */
export async function pickGif(ctx, opener = null) {
  const { api, state } = ctx;
  let results = [];
  let next = null;
  let asked = 0; // the latest search: older answers that arrive late are dropped
  let timer = null;
  let busy = false;

  const query = h("input.gif-search", { type: "search", placeholder: "Search GIFs", "aria-label": "Search GIFs", autocomplete: "off", maxlength: "100" });
  const grid = choiceGrid({ label: "Featured GIFs", columns: COLUMNS, className: "gif-grid", before: query });
  const status = h("p.picker-status", { role: "status" });
  const more = h("button.secondary.gif-more", { type: "button", hidden: true, on: { click: () => search({ append: true }) } }, "More GIFs");
  const attribution = h("p.gif-attribution", state.gifs?.attribution || "");

  const box = dialog({
    title: "GIFs",
    className: "gif-picker",
    body: [query, grid.element, more, h("div.picker-foot", attribution, status)],
    actions: [{ label: "Close", value: null, class: "secondary" }],
    focus: query,
  });

  function render() {
    grid.show(results, (gif) => {
      const img = h("img", { src: mediaUrl(gif.url), alt: "", width: gif.width, height: gif.height, decoding: "async", referrerpolicy: "no-referrer", draggable: "false" });
      const cell = h("button.gif-cell", { type: "button", "aria-label": gif.title || "GIF", title: gif.title || "", on: { click: () => choose(gif) } }, img);
      img.addEventListener("load", () => cell.classList.add("loaded"), { once: true });
      return cell;
    });
    const words = query.value.trim();
    grid.element.setAttribute("aria-label", words ? `GIFs for ${words}` : "Featured GIFs");
    more.hidden = !next || !results.length;
  }

  async function search({ append = false } = {}) {
    const words = query.value.trim();
    const mine = ++asked;
    status.textContent = "Loading…";
    const params = new URLSearchParams({ q: words });
    if (append && next) params.set("pos", next);
    try {
      const page = await api.get(`/api/v1/gifs?${params}`);
      if (mine !== asked || !box.overlay.isConnected) return;
      const focusAt = append ? results.length : null;
      results = append ? [...results, ...(page.results || [])] : page.results || [];
      next = page.next || null;
      if (!append) grid.reset();
      render();
      status.textContent = results.length ? (words ? `${results.length} GIFs for ${words}` : "") : words ? `No GIFs found for ${words}` : "No GIFs to show";
      // "More GIFs" from the keyboard goes on where the new ones start.
      if (focusAt !== null && results.length > focusAt) grid.focus(focusAt);
    } catch (error) {
      if (mine === asked) status.textContent = `GIFs could not be loaded: ${error.message}`;
    }
  }

  async function choose(gif) {
    if (busy) return;
    busy = true;
    status.textContent = "Adding the GIF…";
    try {
      const upload = await api.post(`/api/v1/gifs/${encodeURIComponent(gif.id)}/upload`);
      box.close(upload);
    } catch (error) {
      status.textContent = `The GIF could not be added: ${error.message}`;
    } finally {
      busy = false;
    }
  }

  query.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => search(), SEARCH_DELAY_MS);
  });
  query.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); grid.focus(0); }
    if (e.key === "Enter") { e.preventDefault(); clearTimeout(timer); search(); }
  });

  search();
  const chosen = await box.closed;
  clearTimeout(timer);
  if (opener?.isConnected) opener.focus();
  return chosen;
}
