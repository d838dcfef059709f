// The files a message carries: its images in a grid, each one's space reserved from the width
// and height the server measured and painted with its BlurHash until the picture arrives (so
// nothing below moves), opening in a lightbox; every other file as a card to download. Names
// are text, and the server's URLs are used only when they are http(s) or relative (mediaUrl).

import { clear, dialog, h, mediaUrl, name } from "../dom.js";
import { blurhashCanvas } from "../blurhash.js";
import { fileKind, fileSize, isPicture } from "../files.js";

/** The attachments of a message, or null when it has none to show. */
export function attachmentsNode(attachments = []) {
  const pictures = attachments.filter((file) => isPicture(file) && mediaUrl(file.url));
  const files = attachments.filter((file) => !pictures.includes(file));
  if (!pictures.length && !files.length) return null;
  return h("div.attachments",
    pictures.length ? h("div.media-grid", { "data-count": String(Math.min(pictures.length, 5)) },
      pictures.map((file, i) => picture(file, () => openLightbox(pictures, i)))) : null,
    files.length ? h("ul.file-cards", { "aria-label": "Files" }, files.map((file) => h("li", fileCard(file)))) : null);
}

/** Sets the image's pixel size as CSS variables, which the stylesheet turns into the box's
 * width and aspect ratio (a style attribute would be refused by the page's CSP; CSSOM is not). */
function sized(el, file) {
  el.style.setProperty("--w", String(file.width));
  el.style.setProperty("--h", String(file.height));
  return el;
}

function picture(file, open) {
  const src = mediaUrl(file.thumbnail_url) || mediaUrl(file.url);
  const img = h("img", { src, alt: file.name, width: file.width, height: file.height, decoding: "async", draggable: "false" });
  const item = sized(h("button.media-item", { type: "button", "aria-haspopup": "dialog", on: { click: open } },
    blurhashCanvas(file.blurhash, file.width / file.height), img,
    file.frames > 1 ? h("span.media-badge", { "aria-hidden": "true" }, "GIF") : null), file);
  whenLoaded(img, item);
  return item;
}

/** Marks `box` loaded once `img` is: the picture fades in over its placeholder. An image the
 * browser already holds (a redraw of the same message) shows at once, without the fade. */
function whenLoaded(img, box) {
  if (img.complete && img.naturalWidth) {
    box.classList.add("loaded", "instant");
    return;
  }
  img.addEventListener("load", () => box.classList.add("loaded"), { once: true });
  img.addEventListener("error", () => box.classList.add("broken"), { once: true });
}

/** A file to download: its kind, name and size. The server serves it as an attachment
 * (Content-Disposition), so following the link never opens it as a page of this site. */
export function fileCard(file) {
  const kind = fileKind(file);
  const href = mediaUrl(file.url);
  const content = [
    h("span.file-icon", { "data-tone": kind.tone, "aria-hidden": "true" }, kind.label),
    h("span.file-text", h("span.file-name", name(file.name)), h("span.file-meta", `${kind.words} · ${fileSize(file.size)}`)),
  ];
  if (!href) return h("span.file-card.unavailable", content);
  return h("a.file-card", { href, download: file.name, rel: "noopener noreferrer" },
    h("span.visually-hidden", "Download "), content, h("span.file-download", { "aria-hidden": "true" }, "↓"));
}

/**
 * The lightbox: the image at full size over its thumbnail, its size, a download link, and the
 * other images of the message with ← and → (or the buttons). It is dom.js's dialog, so Escape
 * closes it, Tab stays inside, and focus returns to the image that opened it.
 */
export function openLightbox(pictures, start = 0) {
  let at = start;
  const preview = h("img.lightbox-preview", { alt: "", "aria-hidden": "true" });
  const full = h("img.lightbox-image", { alt: "" });
  const stage = h("div.lightbox-stage", preview, full);
  const details = h("span.lightbox-details");
  const download = h("a.lightbox-download", { rel: "noopener noreferrer" }, "Download");
  const several = pictures.length > 1;
  const box = dialog({
    title: pictures[at].name,
    className: "lightbox",
    wide: true,
    body: [stage, h("p.lightbox-caption", details, download)],
    actions: [
      ...(several ? [
        { label: "Previous", class: "secondary", close: false, onClick: () => show(at - 1) },
        { label: "Next", class: "secondary", close: false, onClick: () => show(at + 1) },
      ] : []),
      { label: "Close", value: null },
    ],
  });
  const title = box.overlay.querySelector("h2");

  function show(i) {
    at = (i + pictures.length) % pictures.length;
    const file = pictures[at];
    const src = mediaUrl(file.url);
    sized(stage, file).classList.remove("loaded", "instant", "broken");
    preview.src = mediaUrl(file.thumbnail_url) || src;
    full.alt = file.name;
    full.src = src;
    whenLoaded(full, stage);
    clear(title, name(file.name));
    box.overlay.setAttribute("aria-label", file.name);
    details.textContent = `${file.width} × ${file.height} · ${fileSize(file.size)}${several ? ` · ${at + 1} of ${pictures.length}` : ""}`;
    download.href = src;
    download.setAttribute("download", file.name);
  }

  if (several) {
    box.overlay.addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") { e.preventDefault(); show(at + (e.key === "ArrowRight" ? 1 : -1)); }
    });
  }
  show(at);
  return box;
}
