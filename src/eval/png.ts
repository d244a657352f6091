/** A small RGB raster with lines, rectangles, text and heat maps, encoded as PNG (zlib from Node). */
import { deflateSync } from "node:zlib";
import { crc32 } from "../bitstream/crc32.js";
import { concatBytes } from "../util/bytes.js";
import { GLYPH_H, GLYPH_W, glyph } from "./font.js";

export type RGB = [number, number, number];

export class Raster {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, bg: RGB = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(bg, i * 3);
  }

  set(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, (y * this.width + x) * 3);
  }

  rect(x0: number, y0: number, w: number, h: number, c: RGB): void {
    for (let y = Math.max(0, Math.floor(y0)); y < Math.min(this.height, y0 + h); y++)
      for (let x = Math.max(0, Math.floor(x0)); x < Math.min(this.width, x0 + w); x++) this.data.set(c, (y * this.width + x) * 3);
  }

  line(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    const n = Math.max(1, Math.ceil(Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0))));
    for (let i = 0; i <= n; i++) this.set(x0 + ((x1 - x0) * i) / n, y0 + ((y1 - y0) * i) / n, c);
  }

  text(x: number, y: number, s: string, c: RGB = [0, 0, 0], scale = 1): void {
    [...s].forEach((ch, k) => {
      const rows = glyph(ch);
      for (let r = 0; r < 7; r++)
        for (let b = 0; b < 5; b++) if (rows[r] & (16 >> b)) this.rect(x + (k * GLYPH_W + b) * scale, y + r * scale, scale, scale, c);
    });
  }

  static textWidth(s: string, scale = 1): number {
    return s.length * GLYPH_W * scale;
  }

  static textHeight(scale = 1): number {
    return GLYPH_H * scale;
  }

  png(): Uint8Array {
    const raw = new Uint8Array((this.width * 3 + 1) * this.height);
    for (let y = 0; y < this.height; y++) raw.set(this.data.subarray(y * this.width * 3, (y + 1) * this.width * 3), y * (this.width * 3 + 1) + 1);
    const chunk = (type: string, body: Uint8Array) => {
      const out = new Uint8Array(12 + body.length);
      const v = new DataView(out.buffer);
      v.setUint32(0, body.length);
      out.set([...type].map((ch) => ch.charCodeAt(0)), 4);
      out.set(body, 8);
      v.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
      return out;
    };
    const ihdr = new Uint8Array(13);
    const hv = new DataView(ihdr.buffer);
    hv.setUint32(0, this.width);
    hv.setUint32(4, this.height);
    ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
    const parts = [Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", new Uint8Array(deflateSync(raw))), chunk("IEND", new Uint8Array(0))];
    return concatBytes(parts);
  }
}

/** Perceptually ordered colour map (a compact viridis approximation). */
export function viridis(t: number): RGB {
  const stops: RGB[] = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  const x = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  return stops[i].map((a, k) => Math.round(a + (stops[i + 1][k] - a) * f)) as RGB;
}
