/**
 * Paints log-mel spectrograms as RGBA pixels (low bands at the bottom), all on
 * one colour scale so that the original and the decoded clip compare by eye.
 * Runs in the worker: the page only puts the pixels on a canvas.
 */

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
export function spectrogramTop(mels: Float32Array[]): number {
  let top = -Infinity;
  for (const d of mels) for (let i = 0; i < d.length; i++) if (d[i] > top) top = d[i];
  return top;
}

/** RGBA pixels [bands rows, frames columns] of a log-mel [frames, bands]. */
export function paintSpectrogram(data: Float32Array, frames: number, bands: number, top: number): Uint8ClampedArray {
  const px = new Uint8ClampedArray(frames * bands * 4);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < bands; m++) {
      const level = Math.max(0, Math.min(1, 1 - (top - data[t * bands + m]) / RANGE));
      const c = LUT[Math.round(level * 255)];
      const p = ((bands - 1 - m) * frames + t) * 4;
      px[p] = c[0];
      px[p + 1] = c[1];
      px[p + 2] = c[2];
      px[p + 3] = 255;
    }
  }
  return px;
}
