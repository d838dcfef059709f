// The files of the message being written. Picked with the attach button, dropped on the
// conversation or pasted, each one uploads at once (uploads.js) and shows as a chip above the
// composer: a preview or its kind, name, size and progress, a button to pause and resume it
// and one to cancel or remove it; a refused one says why and offers Retry. chat.js sends the message with the uploads' ids
// once every one is complete.

import { announce, clear, h, name } from "../dom.js";
import { fileKind, fileSize } from "../files.js";
import { Upload } from "../uploads.js";

/** Files one message may carry (the server's `MAX_ATTACHMENTS`). */
export const MAX_ATTACHMENTS = 10;

/**
 * The tray and its attach button. `onChange` runs whenever what can be sent changes.
 * Returns {element, button, add(files), count(), ready(), ids(), clear(), dispose()}.
 */
export function attachmentTray(ctx, { onChange }) {
  let items = []; // {upload, el, forget}: in the order they were added, the order they are sent
  let noteTimer = null;
  const list = h("ul.attachment-tray", { "aria-label": "Files to send", hidden: true });
  const note = h("p.tray-note", { role: "status" });
  const picker = h("input", { type: "file", multiple: true, hidden: true });
  const button = h("button.icon.attach", { type: "button", "aria-label": "Attach files", title: "Attach files", on: { click: () => picker.click() } }, "📎");
  picker.addEventListener("change", () => {
    add([...picker.files]);
    picker.value = "";
  });

  function add(files) {
    const room = Math.max(0, MAX_ATTACHMENTS - items.length);
    const left = files.length - room;
    say(left > 0 ? `A message can carry at most ${MAX_ATTACHMENTS} files: ${left === 1 ? "one was" : `${left} were`} not added.` : "");
    for (const file of files.slice(0, room)) items.push(chip(file));
    render();
  }

  function chip(file) {
    const upload = new Upload(ctx.api, file);
    const kind = fileKind({ mime: file.type, name: file.name });
    const icon = h("span.file-icon", { "data-tone": kind.tone, "aria-hidden": "true" }, kind.label);
    const thumb = h("span.chip-thumb", icon);
    // A preview of a picture from its own bytes; the object URL is let go once drawn.
    let url = /^image\//.test(file.type) ? URL.createObjectURL(file) : null;
    const forget = () => { if (url) URL.revokeObjectURL(url); url = null; };
    if (url) {
      const img = h("img", { src: url, alt: "" });
      img.addEventListener("load", () => { forget(); clear(thumb, img); }, { once: true });
      img.addEventListener("error", forget, { once: true });
    }
    const meta = h("span.chip-meta");
    const progress = h("progress", { max: String(file.size || 1), value: "0", "aria-label": `Uploading ${file.name}` });
    const retry = h("button.link.chip-retry", { type: "button", on: { click: () => start() } }, "Retry");
    // Resuming shares the first start()'s promise, which already says when it fails.
    const pause = h("button.icon.chip-pause", { type: "button", on: { click: () => (upload.state === "paused" ? upload.start() : upload.pause()) } });
    const remove = h("button.icon.chip-remove", { type: "button", on: { click: () => drop(item) } }, "✕");
    const el = h("li.attachment-chip", thumb, h("span.chip-text", h("span.chip-name", name(file.name)), meta, progress), retry, remove, pause);
    const item = { upload, el, forget };
    const update = () => {
      const { state } = upload;
      const going = state === "uploading" || state === "paused";
      el.dataset.state = state;
      progress.value = upload.sent;
      progress.hidden = !going;
      progress.setAttribute("aria-label", state === "paused" ? `Upload of ${file.name}, paused` : `Uploading ${file.name}`);
      retry.hidden = state !== "failed";
      const sent = `${fileSize(upload.sent)} of ${fileSize(file.size)}`;
      meta.textContent = state === "failed" ? upload.error
        : state === "paused" ? `Paused · ${sent}`
        : state === "uploading" ? sent
        : fileSize(file.size);
      pause.hidden = !going;
      pause.textContent = state === "paused" ? "▶\uFE0E" : "❚❚";
      labelled(pause, state === "paused" ? `Resume upload of ${file.name}` : `Pause upload of ${file.name}`);
      labelled(remove, going ? `Cancel the upload of ${file.name}` : `Remove ${file.name}`);
      onChange();
    };
    const start = () => upload.start().catch(() => {
      if (upload.state === "failed") announce(`${file.name} was not uploaded: ${upload.error}`);
    });
    upload.addEventListener("change", update);
    update();
    start();
    return item;
  }

  function drop(item) {
    item.upload.cancel();
    item.forget();
    items = items.filter((other) => other !== item);
    render();
  }

  function say(text) {
    note.textContent = text;
    clearTimeout(noteTimer);
    if (text) noteTimer = setTimeout(() => { note.textContent = ""; }, 8000);
  }

  function render() {
    clear(list, items.map((item) => item.el));
    list.hidden = !items.length;
    onChange();
  }

  return {
    element: h("div.tray", list, note, picker),
    button,
    add,
    count: () => items.length,
    ready: () => items.every((item) => item.upload.state === "complete"),
    ids: () => items.map((item) => item.upload.id),
    /** The message went: the uploads are its attachments now, only the chips go. */
    clear() {
      for (const item of items) item.forget();
      items = [];
      say("");
      render();
    },
    /** The conversation closed with files still here: they are cancelled (and deleted). */
    dispose() {
      clearTimeout(noteTimer);
      for (const item of [...items]) drop(item);
    },
  };
}

/** An icon button's name, for screen readers and as its tooltip. */
function labelled(button, label) {
  button.setAttribute("aria-label", label);
  button.title = label;
}
