// Choosing a picture, yours or a group's: an image is uploaded as an avatar (the server crops it
// to a square and strips its metadata), then made the picture; or the picture is removed.

import { clear, h } from "../dom.js";
import { Upload } from "../uploads.js";

const IMAGES = "image/png,image/jpeg,image/gif,image/webp";

/**
 * The picture of a settings form and its buttons. `draw()` makes the current avatar; `has()`
 * says whether there is a picture; `apply(uploadId)` and `remove()` ask the server and resolve
 * once the caller's state has its answer. Returns `{picture, controls}` to place.
 */
export function pictureChooser(ctx, { draw, has, apply, remove }) {
  const picture = h("span.picture-preview", draw());
  const status = h("span.picture-status", { role: "status" });
  const picker = h("input", { type: "file", accept: IMAGES, hidden: true });
  const change = h("button.secondary", { type: "button", on: { click: () => picker.click() } });
  const drop = h("button.secondary", { type: "button", on: { click: () => run(remove, "Removing…", "Picture removed.") } }, "Remove picture");
  const controls = h("div.picture-actions", change, drop, picker, status);

  const refresh = () => {
    clear(picture, draw());
    change.textContent = has() ? "Change picture" : "Upload a picture";
    drop.hidden = !has();
  };

  async function run(step, doing, done) {
    change.disabled = drop.disabled = true;
    status.classList.remove("error");
    status.textContent = doing;
    try {
      await step();
      status.textContent = done;
    } catch (error) {
      status.classList.add("error");
      status.textContent = error.message;
    } finally {
      change.disabled = drop.disabled = false;
      refresh();
    }
  }

  picker.addEventListener("change", () => {
    const [file] = picker.files;
    picker.value = "";
    if (!file) return;
    const upload = new Upload(ctx.api, file, { purpose: "avatar" });
    upload.addEventListener("change", () => {
      if (upload.state === "uploading" && file.size) status.textContent = `Uploading… ${Math.round((100 * upload.sent) / file.size)}%`;
    });
    run(async () => apply(await upload.start()), "Uploading…", "Picture saved.");
  });
  refresh();
  return { picture, controls };
}
