// A conversation's settings, from its header (⚙): whether links get previews, and its theme — a
// preset (a radio group of swatches) or colours of your own for the light and the dark variant,
// with the contrast of each pair the server checks said as you pick them. In a group the owner
// and admins change them (the others see them); in a direct conversation, either member. The
// server has the last word on contrast: its `low_contrast` refusal is shown as it says it, and
// nothing changes.

import { clear, dialog, h, name } from "../dom.js";
import { checkPalette, FIELD_LABELS, PALETTE_FIELDS, paletteOk, parseHex, ratioText, textOn, variantOf } from "../themes.js";
import { isDark, ownColours } from "../theme.js";

/** Where a custom theme starts when there is no preset to start from: the app's own colours. */
const APP_COLOURS = {
  light: { background: "#f4f5f7", text: "#1b1f24", accent: "#2456d6", bubble: "#ffffff", bubble_text: "#1b1f24", own_bubble: "#e6eeff", own_bubble_text: "#1b1f24" },
  dark: { background: "#0f1216", text: "#e8ecf0", accent: "#7aa2ff", bubble: "#1e232b", bubble_text: "#e8ecf0", own_bubble: "#22304d", own_bubble_text: "#e8ecf0" },
};
const VARIANTS = [["light", "Light"], ["dark", "Dark"]];

export function showSettings(ctx, id) {
  const { state } = ctx;
  const c = state.conversations.get(id);
  if (!c) return null;
  const role = c.members.find((m) => m.user.id === state.me.id)?.role;
  const may = c.kind === "direct" || role === "owner" || role === "admin";
  const previews = previewsSection(ctx, id, may);
  const theme = themeSection(ctx, id, may);
  const box = dialog({
    title: "Conversation settings",
    wide: true,
    className: "settings-dialog",
    body: [h("p.muted", "For ", name(state.title(c))), previews.element, theme.element],
    focus: may ? previews.toggle : null,
    actions: [{ label: "Close", value: null }],
  });
  return box;
}

/** What happens after a change: the conversation as the server answered, shown everywhere. */
function changed(state, conversation) {
  state.setConversation(conversation);
  state.changed("conversations");
  state.changed("header");
}

function say(el, text) {
  el.textContent = text;
  setTimeout(() => { if (el.textContent === text) el.textContent = ""; }, 4000);
}

function previewsSection(ctx, id, may) {
  const { api, state } = ctx;
  const c = state.conversations.get(id);
  const error = h("p.error", { role: "alert" });
  const saved = h("span.saved", { role: "status" });
  const toggle = h("input", { type: "checkbox", role: "switch", checked: c.link_previews !== false, disabled: !may, "aria-describedby": `previews-hint-${id}` });
  toggle.addEventListener("change", async () => {
    error.textContent = "";
    const on = toggle.checked;
    try {
      changed(state, await api.patch(`/api/v1/conversations/${id}`, { link_previews: on }));
      say(saved, on ? "Link previews on." : "Link previews off.");
    } catch (e) {
      toggle.checked = !on;
      error.textContent = e.message;
    }
  });
  const element = h("section.section", { "aria-labelledby": `previews-title-${id}` },
    h(`h3#previews-title-${id}`, "Link previews"),
    h("label.switch", toggle, h("span", "Show link previews")),
    h(`p.muted#previews-hint-${id}`, "A link sent here gets a card with the page's title, description and picture. The server fetches the page once; nobody reading contacts the linked site.",
      may ? null : c.kind === "group" ? " The owner and admins can change this." : null),
    error,
    h("div.actions", saved));
  return { element, toggle };
}

function themeSection(ctx, id, may) {
  const { api, state } = ctx;
  const current = () => state.conversations.get(id)?.theme || null;
  const dark = isDark();
  const error = h("p.error", { role: "alert" });
  const saved = h("span.saved", { role: "status" });
  const summary = h("p");
  const describe = () => {
    const t = current();
    const preset = t?.preset && state.themes.find((p) => p.id === t.preset);
    clear(summary, !t ? "No theme: everyone sees their own colours." : preset ? ["This conversation uses the theme ", h("strong", preset.name), "."] : "This conversation uses a custom theme.");
  };
  describe();
  const own = ownColours() ? h("p.notice", "This device uses your own colours (Me → Appearance): you do not see conversation themes here.") : null;
  if (!may) {
    return { element: h("section.section", { "aria-labelledby": `theme-title-${id}` }, h(`h3#theme-title-${id}`, "Theme"), summary, own,
      h("p.muted", "The owner and admins can change it.")) };
  }

  const presets = state.themes;
  const t = current();
  const start = t && !t.preset ? "custom" : t?.preset && presets.some((p) => p.id === t.preset) ? t.preset : null;
  const radio = (value, label, palette) => h("label.theme-choice",
    h("input", { type: "radio", name: `theme-${id}`, value, checked: value === start }),
    palette ? swatch(palette) : h("span.swatch.custom", { "aria-hidden": "true" }, "✎"),
    h("span", label));
  const choices = h("fieldset.theme-choices", h("legend", "Choose a theme"),
    presets.map((p) => radio(p.id, p.name, variantOf(p, dark))),
    radio("custom", "Custom", null));
  // The editor starts from the custom theme there is, else from the preset chosen last.
  const editor = customEditor(t && !t.preset ? t : presets.find((p) => p.id === start) || presets[0] || APP_COLOURS);
  const chosen = () => choices.querySelector("input:checked")?.value || null;
  choices.addEventListener("change", () => {
    const value = chosen();
    if (value === "custom") editor.element.hidden = false;
    else {
      editor.element.hidden = true;
      // Switching to Custom later starts from this preset.
      const preset = presets.find((p) => p.id === value);
      if (preset) editor.set(preset);
    }
    error.textContent = "";
  });
  editor.element.hidden = start !== "custom";

  const removeButton = h("button.danger", { type: "button", hidden: !t, on: { click: () => act(() => api.del(`/api/v1/conversations/${id}/theme`), "Theme removed.") } }, "Remove theme");
  const saveButton = h("button", { type: "submit" }, "Save theme");
  const act = async (call, done) => {
    error.textContent = "";
    try {
      changed(state, await call());
      removeButton.hidden = !current();
      describe();
      say(saved, done);
    } catch (e) {
      // `low_contrast` names the variant, the pair and its ratio: said as the server says it.
      error.textContent = e.message;
    }
  };
  const form = h("form.theme-form", { "aria-labelledby": `theme-title-${id}`, on: { submit: (e) => {
    e.preventDefault();
    const value = chosen();
    if (!value) { error.textContent = "Choose a theme first."; return; }
    act(() => api.put(`/api/v1/conversations/${id}/theme`, value === "custom" ? editor.value() : { preset: value }), "Theme saved.");
  } } },
  choices, editor.element, error, h("div.actions", saved, removeButton, saveButton));
  return { element: h("section.section", h(`h3#theme-title-${id}`, "Theme"), summary, own, form) };
}

/** Four stripes of a palette (background, others' and your messages, accent): decorative, the
 * preset's name is next to it. */
function swatch(palette = {}) {
  return h("span.swatch", { "aria-hidden": "true" }, ["background", "bubble", "own_bubble", "accent"].map((field) => {
    const stripe = h("span");
    stripe.style.setProperty("--swatch", palette[field] || "transparent");
    return stripe;
  }));
}

/** Colour fields for both variants, each with a sample and the contrast of every pair the
 * server checks, updated as the colours change. */
function customEditor(startFrom) {
  const variants = VARIANTS.map(([key, label]) => {
    const inputs = Object.fromEntries(PALETTE_FIELDS.map((field) => [field, h("input", { type: "color", value: startFrom[key]?.[field] || APP_COLOURS[key][field], "data-field": field })]));
    const sample = h("div.theme-sample", { "aria-hidden": "true" },
      h("span.sample-text", "Names and times"),
      h("span.sample-bubble", "Their message"),
      h("span.sample-own", "Your message"),
      h("span.sample-accent", "Button"));
    const readout = h("ul.contrast-readout", { "aria-label": `Contrast, ${label.toLowerCase()}` });
    const refresh = () => {
      const palette = valueOf(inputs);
      for (const [prop, field] of [["--s-bg", "background"], ["--s-text", "text"], ["--s-bubble", "bubble"], ["--s-bubble-text", "bubble_text"], ["--s-own", "own_bubble"], ["--s-own-text", "own_bubble_text"], ["--s-accent", "accent"]]) sample.style.setProperty(prop, palette[field]);
      sample.style.setProperty("--s-accent-text", textOn(palette.accent));
      clear(readout, checkPalette(palette).map((pair) => h("li", { "data-ok": String(pair.ok) },
        h("span", pair.label), " ",
        h("strong", ratioText(pair.ratio)), " ",
        h("span.verdict", pair.ok ? `✓ enough (${pair.min}:1 needed)` : `✗ too low: needs ${pair.min}:1`))));
    };
    const fieldset = h("fieldset.theme-variant", h("legend", label),
      h("div.colour-fields", PALETTE_FIELDS.map((field) => h("label.colour-field", inputs[field], h("span", FIELD_LABELS[field])))),
      sample, readout);
    fieldset.addEventListener("input", refresh);
    refresh();
    return { key, inputs, fieldset, refresh };
  });
  const element = h("div.theme-custom", variants.map((v) => v.fieldset));
  return {
    element,
    value: () => Object.fromEntries(variants.map((v) => [v.key, valueOf(v.inputs)])),
    ok: () => variants.every((v) => paletteOk(valueOf(v.inputs))),
    set(theme) {
      for (const v of variants) {
        for (const field of PALETTE_FIELDS) if (parseHex(theme[v.key]?.[field])) v.inputs[field].value = theme[v.key][field];
        v.refresh();
      }
    },
  };
}

const valueOf = (inputs) => Object.fromEntries(PALETTE_FIELDS.map((field) => [field, inputs[field].value.toLowerCase()]));
