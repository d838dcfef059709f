// Tone indicators while writing (docs/protocol.md "Tone indicators"): the composer's Tone menu,
// the chosen ones as removable chips (sent as `tones`), and a line that says what the server will
// make of indicators typed at the end of the text (`/j` becomes a chip) with a way to keep them
// as text instead (`literal`). The edit dialog has the line too.

import { announce, clear, h } from "../dom.js";
import { openMenu } from "../timeline/menu.js";
import { liftTones, MAX_TONES, meaning, mergeTones } from "../tones.js";

/**
 * The tone controls of the text field `input`. `menu`: with the Tone button and chips (the
 * composer), or only the line (an edit). `literal`: start with typed indicators kept as text (an
 * edit of a message sent that way). Returns {button, tray, hint, tones(), literal(), update(),
 * clear()}; `update` runs on every input (the caller wires it), `onChange` when what is sent changes.
 */
export function toneControls(ctx, { input, menu = true, literal: startLiteral = false, onChange = () => {} }) {
  const { state } = ctx;
  let chosen = [];
  let literal = startLiteral;
  let shown = null; // what the line says now: it is rewritten (and announced) only when that changes

  const button = menu ? h("button.icon.tone-button", { type: "button", title: "Add a tone indicator (/j, /srs, …)", "aria-haspopup": "menu", "aria-expanded": "false", on: { click: () => openToneMenu() } }, "Tone") : null;
  const tray = menu ? h("ul.tone-tray", { "aria-label": "Tone indicators to send", hidden: true }) : null;
  const words = h("span");
  const toggle = h("button.link", { type: "button", on: { click: () => { literal = !literal; update(); input.focus(); } } });
  const hint = h("p.tone-hint", { hidden: true }, h("span", { role: "status" }, words), " ", toggle);

  function openToneMenu() {
    const items = state.tones.map((t) => ({
      label: [h("span.tone-code", `/${t.code}`), h("span.tone-meaning", t.meaning)],
      key: t.code,
      checked: chosen.includes(t.code),
      run: () => choose(t.code),
    }));
    openMenu(button, items, { label: "Tone indicators", className: "tone-menu" });
  }

  function choose(code) {
    if (chosen.includes(code)) chosen = chosen.filter((c) => c !== code);
    else if (chosen.length >= MAX_TONES) announce(`A message carries at most ${MAX_TONES} tone indicators.`);
    else chosen = [...chosen, code];
    drawTray();
    update();
    input.focus();
  }

  function drawTray() {
    if (!tray) return;
    clear(tray, chosen.map((code) => {
      const words = meaning(code, state.tones);
      return h("li.chip.tone-chip",
        h("span.tone", { "aria-hidden": "true" }, `/${code}`), h("span.tone-meaning", words),
        h("button.icon", { type: "button", "aria-label": `Remove /${code} (${words})`, title: `Remove /${code}`, on: { click: () => { choose(code); } } }, "✕"));
    }));
    tray.hidden = !chosen.length;
  }

  /** The line under the field, from the text as it is now. */
  function update() {
    const typed = liftTones(input.value, state.tones).tones;
    // Nothing typed to lift any more: the next indicator typed is a chip again.
    if (!typed.length) literal = false;
    const total = mergeTones(chosen, literal ? [] : typed);
    let say = null;
    if (typed.length && literal) say = [`${codes(typed)} stays text, as typed.`, "Use as tone indicators"];
    else if (typed.length) say = [`${codes(typed)} will show as ${typed.length === 1 ? "a tone indicator" : "tone indicators"} (${[...new Set(typed)].map((c) => meaning(c, state.tones)).join(", ")}).`, "Keep as text"];
    if (total.length > MAX_TONES) say = [`Too many tone indicators: a message carries at most ${MAX_TONES}.`, say?.[1] || null];
    const key = JSON.stringify(say);
    if (key !== shown) {
      shown = key;
      hint.hidden = !say;
      words.textContent = say?.[0] || "";
      toggle.textContent = say?.[1] || "";
      toggle.hidden = !say?.[1] || !typed.length;
    }
    if (button) button.hidden = !state.tones.length;
    onChange();
  }

  const codes = (list) => [...new Set(list)].map((c) => `/${c}`).join(" ");

  return {
    button,
    tray,
    hint,
    tones: () => [...chosen],
    literal: () => literal && liftTones(input.value, state.tones).tones.length > 0,
    /** Whether what would be sent has more indicators than a message may carry. */
    tooMany: () => mergeTones(chosen, literal ? [] : liftTones(input.value, state.tones).tones).length > MAX_TONES,
    update,
    /** The message went: start over. */
    clear() {
      chosen = [];
      literal = false;
      drawTray();
      update();
    },
  };
}
