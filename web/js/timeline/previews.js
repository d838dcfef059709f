// Link previews (docs/protocol.md "Link previews"): the cards the server built for a message's
// links — site, title, description, picture. Everything in them came from the linked page, so it
// is user content: text only (h()), the title a link through the leaving-site warning
// (externalLink), and the picture one the server fetched and serves itself (mediaUrl), its box
// reserved from the size the server measured and painted with its BlurHash until it loads, so
// that nothing below moves — as attachments do.

import { externalLink, h, mediaUrl } from "../dom.js";
import { blurhashCanvas } from "../blurhash.js";

/** A picture at least this wide, and wider than tall, is shown large, under the text; smaller
 * or squarer ones (logos, avatars) as a thumbnail beside it. */
const LARGE_MIN_WIDTH = 300;

/** The previews of a message, or null when it has none to show. */
export function previewsNode(previews = []) {
  const cards = previews.map(card).filter(Boolean);
  return cards.length ? h("ul.link-previews", { "aria-label": cards.length === 1 ? "Link preview" : "Link previews" }, cards.map((c) => h("li", c))) : null;
}

/** http(s) only: anything else the page claimed is not followed. */
function webUrl(url) {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function card(preview) {
  const href = webUrl(preview.url);
  if (!href) return null;
  const host = new URL(href).host;
  const image = preview.image && mediaUrl(preview.image.url) && preview.image.width > 0 && preview.image.height > 0 ? preview.image : null;
  const large = image && image.width >= LARGE_MIN_WIDTH && image.width > image.height * 1.2;
  const text = h("div.preview-text",
    h("span.preview-site", h("bdi", preview.site_name || host)),
    h("span.preview-title", externalLink(href, h("bdi", preview.title || href))),
    preview.description ? h("span.preview-description", { dir: "auto" }, preview.description) : null);
  return h(`article.link-preview${large ? ".large" : image ? ".thumb" : ""}`, { "aria-label": preview.title || host },
    text, image ? picture(image) : null);
}

/** The picture: decorative (the title says what it is), sized before it arrives. */
function picture(image) {
  const img = h("img", { src: mediaUrl(image.url), alt: "", width: image.width, height: image.height, decoding: "async", loading: "lazy", referrerpolicy: "no-referrer", draggable: "false" });
  const box = h("div.preview-image", { "aria-hidden": "true" }, image.blurhash ? blurhashCanvas(image.blurhash, image.width / image.height) : null, img);
  // CSSOM (the CSP refuses style attributes): the stylesheet turns these into the box's shape.
  box.style.setProperty("--w", String(image.width));
  box.style.setProperty("--h", String(image.height));
  if (img.complete && img.naturalWidth) box.classList.add("loaded", "instant");
  else {
    img.addEventListener("load", () => box.classList.add("loaded"), { once: true });
    img.addEventListener("error", () => box.classList.add("broken"), { once: true });
  }
  return box;
}
