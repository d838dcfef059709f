// A sticker message in the timeline: the sticker's picture in a box of at most 160 px, its shape
// reserved from the size the server measured (nothing below moves while it loads), its
// description as the alternative text. A sticker since removed by the server's admins says so,
// with its description.

import { h, mediaUrl } from "../dom.js";

export function stickerNode(sticker) {
  const src = mediaUrl(sticker?.url);
  if (!src || !(sticker.width > 0 && sticker.height > 0)) return h("p.body.sticker-removed", `Sticker removed: ${sticker?.body || ""}`);
  const img = h("img", { src, alt: sticker.body, title: `:${sticker.shortcode}:`, width: sticker.width, height: sticker.height, decoding: "async", draggable: "false" });
  const box = h("div.body.sticker", img);
  // CSSOM (the CSP refuses style attributes): the stylesheet makes these the box's shape.
  box.style.setProperty("--w", String(sticker.width));
  box.style.setProperty("--h", String(sticker.height));
  return box;
}
