/**
 * Draws log-mel spectrograms (low bands at the bottom) on canvases, all on one
 * colour scale so that the original and the decoded clip compare by eye.
 */
import type { Spectrogram } from "./protocol.js";

/** Dynamic range shown below the loudest cell, in natural-log units (8 ≈ 70 dB). */
const RANGE = 8;

// A dark-to-bright palette (close to "magma"), interpolated between anchors.
const ANCHORS = [
  [0, 0, 4],
  [59, 15, 112],
  [140, 41, 129],
  [222, 73, 104],
  [254, 159, 109],
  [252, 253, 191],
];
const LUT = Array.from({ length: 256 }, (_, i) => {
  const x = (i / 255) * (ANCHORS.length - 1);
  const k = Math.min(ANCHORS.length - 2, Math.floor(x));
  const f = x - k;
  return ANCHORS[k].map((c, j) => Math.round(c + f * (ANCHORS[k + 1][j] - c)));
});

/** The loudest cell over all the spectrograms to be compared: the top of their shared scale. */
export function spectrogramTop(specs: Spectrogram[]): number {
  let top = -Infinity;
  for (const s of specs) for (const v of s.data) if (v > top) top = v;
  return top;
}

export function drawSpectrogram(canvas: HTMLCanvasElement, { frames, bands, data }: Spectrogram, top: number): void {
  canvas.width = frames;
  canvas.height = bands;
  const ctx = canvas.getContext("2d")!;
  const img = ctx.createImageData(frames, bands);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < bands; m++) {
      const level = Math.max(0, Math.min(1, 1 - (top - data[t * bands + m]) / RANGE));
      const [r, g, b] = LUT[Math.round(level * 255)];
      const p = ((bands - 1 - m) * frames + t) * 4;
      img.data[p] = r;
      img.data[p + 1] = g;
      img.data[p + 2] = b;
      img.data[p + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

export function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.width = 0; // also frees the backing store
}
