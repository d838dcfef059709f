// BlurHash (https://blurha.sh): a few cosine components of a picture in a short base-83 string,
// which the server computes for every image it stores. Decoded here into pixels that a small
// canvas stretches under the image until the image itself has arrived.
//
// The string: one digit for the number of components (x, y), one for the largest AC value, four
// for the average colour (DC, sRGB), then two per AC component (three values in base 19).

const DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
const VALUE = new Map([...DIGITS].map((c, i) => [c, i]));

function base83(text, from, to) {
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = VALUE.get(text[i]);
    if (digit === undefined) throw new Error(`blurhash: "${text[i]}" is not a base-83 digit`);
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (c) => { const v = c / 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
const toSrgb = (v) => {
  const c = Math.min(1, Math.max(0, v));
  return Math.round((c <= 0.0031308 ? c * 12.92 : 1.055 * c ** (1 / 2.4) - 0.055) * 255);
};
const signedSquare = (v) => Math.sign(v) * v * v;

/** The components of `hash`: `{x, y, colours}` with `colours[i]` a linear [r, g, b]; throws on
 * anything that is not a well-formed BlurHash. */
export function components(hash) {
  if (typeof hash !== "string" || hash.length < 6) throw new Error("blurhash: too short");
  const size = base83(hash, 0, 1);
  const x = (size % 9) + 1;
  const y = Math.floor(size / 9) + 1;
  if (hash.length !== 4 + 2 * x * y) throw new Error(`blurhash: ${x}×${y} components need ${4 + 2 * x * y} characters, not ${hash.length}`);
  const maxAc = (base83(hash, 1, 2) + 1) / 166;
  const dc = base83(hash, 2, 6);
  const colours = [[toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]];
  for (let i = 1; i < x * y; i++) {
    const ac = base83(hash, 4 + 2 * i, 6 + 2 * i);
    const q = [Math.floor(ac / 361), Math.floor(ac / 19) % 19, ac % 19];
    colours.push(q.map((v) => signedSquare((v - 9) / 9) * maxAc));
  }
  return { x, y, colours };
}

/** RGBA pixels (`Uint8ClampedArray`, width × height × 4, opaque) of `hash`; throws on a malformed
 * hash. `punch` scales the contrast (1 as encoded). */
export function decode(hash, width, height, punch = 1) {
  const { x: nx, y: ny, colours } = components(hash);
  const pixels = new Uint8ClampedArray(width * height * 4);
  // The cosines per column and per row, computed once instead of once per pixel.
  const cosX = Float64Array.from({ length: width * nx }, (_, k) => Math.cos((Math.PI * Math.floor(k / nx) * (k % nx)) / width));
  const cosY = Float64Array.from({ length: height * ny }, (_, k) => Math.cos((Math.PI * Math.floor(k / ny) * (k % ny)) / height));
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < ny; j++) {
        for (let i = 0; i < nx; i++) {
          const basis = cosX[px * nx + i] * cosY[py * ny + j];
          const c = colours[i + j * nx];
          const scale = i + j === 0 ? 1 : punch;
          r += c[0] * basis * scale;
          g += c[1] * basis * scale;
          b += c[2] * basis * scale;
        }
      }
      const at = 4 * (px + py * width);
      pixels[at] = toSrgb(r);
      pixels[at + 1] = toSrgb(g);
      pixels[at + 2] = toSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** A small canvas painted with `hash` (CSS stretches it), or null when the hash is malformed:
 * a bad placeholder is no reason to lose the image. */
export function blurhashCanvas(hash, aspect = 1) {
  const width = 32;
  const height = Math.max(1, Math.min(64, Math.round(32 / aspect)));
  let pixels;
  try { pixels = decode(hash, width, height); } catch { return null; }
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  canvas.getContext("2d")?.putImageData(new ImageData(pixels, width, height), 0, 0);
  return canvas;
}
