/** Line plots (training curves) and spectrogram panels, as PNG. */
import { Raster, viridis, type RGB } from "./png.js";

const PALETTE: RGB[] = [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189], [140, 86, 75], [227, 119, 194], [127, 127, 127]];

export interface Series {
  name: string;
  x: number[];
  y: number[];
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const step = 10 ** Math.floor(Math.log10(span / n));
  const mult = [1, 2, 5, 10].find((m) => span / (m * step) <= n) ?? 10;
  const s = mult * step;
  const out: number[] = [];
  for (let v = Math.ceil(lo / s) * s; v <= hi + 1e-12; v += s) out.push(Number(v.toPrecision(6)));
  return out;
}

const fmtTick = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(0) : String(Number(v.toPrecision(3))));

/** One panel of line series with axes; `logY` plots log10(y). */
export function drawLines(r: Raster, x0: number, y0: number, w: number, h: number, title: string, series: Series[], logY = false): void {
  const tx = (v: number) => (logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const xs = series.flatMap((s) => s.x);
  const ys = series.flatMap((s) => s.y.map(tx)).filter(Number.isFinite);
  if (xs.length === 0 || ys.length === 0) return;
  const [xmin, xmax] = [Math.min(...xs), Math.max(...xs)];
  let [ymin, ymax] = [Math.min(...ys), Math.max(...ys)];
  if (ymin === ymax) [ymin, ymax] = [ymin - 1, ymax + 1];
  const L = 50, B = 24, T = 16;
  const pw = w - L - 10;
  const ph = h - B - T;
  const px = (v: number) => x0 + L + ((v - xmin) / (xmax - xmin || 1)) * pw;
  const py = (v: number) => y0 + T + ph - ((v - ymin) / (ymax - ymin)) * ph;
  r.text(x0 + L, y0 + 2, title);
  for (const t of niceTicks(ymin, ymax)) {
    r.line(x0 + L, py(t), x0 + L + pw, py(t), [230, 230, 230]);
    r.text(x0 + 2, py(t) - 3, logY ? fmtTick(10 ** t) : fmtTick(t), [80, 80, 80]);
  }
  for (const t of niceTicks(xmin, xmax)) r.text(px(t) - 8, y0 + T + ph + 6, fmtTick(t), [80, 80, 80]);
  r.line(x0 + L, y0 + T, x0 + L, y0 + T + ph, [0, 0, 0]);
  r.line(x0 + L, y0 + T + ph, x0 + L + pw, y0 + T + ph, [0, 0, 0]);
  series.forEach((s, k) => {
    const c = PALETTE[k % PALETTE.length];
    for (let i = 1; i < s.x.length; i++) {
      const a = tx(s.y[i - 1]);
      const b = tx(s.y[i]);
      if (Number.isFinite(a) && Number.isFinite(b)) r.line(px(s.x[i - 1]), py(a), px(s.x[i]), py(b), c);
    }
    // Sparse series (validation every K steps) get a marker per point.
    if (s.x.length < 60) s.x.forEach((x, i) => Number.isFinite(tx(s.y[i])) && r.rect(px(x) - 2, py(tx(s.y[i])) - 2, 5, 5, c));
    r.rect(x0 + L + pw - 110, y0 + T + 4 + k * 10, 8, 6, c);
    r.text(x0 + L + pw - 98, y0 + T + 3 + k * 10, s.name.slice(0, 16), [40, 40, 40]);
  });
}

/** A grid of line panels (2 columns) as PNG. */
export function linePanelsPng(panels: { title: string; series: Series[]; logY?: boolean }[]): Uint8Array {
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const W = 420, H = 240;
  const r = new Raster(W * cols, H * rows);
  panels.forEach((p, i) => drawLines(r, (i % cols) * W, Math.floor(i / cols) * H, W, H, p.title, p.series, p.logY));
  return r.png();
}

/** Stacked log-mel spectrograms ([frames, bands] time-major), shared colour scale, as PNG. */
export function spectrogramsPng(panels: { title: string; mel: Float32Array; frames: number; bands: number }[], lo = -11.5, hi = 2): Uint8Array {
  const frames = Math.max(...panels.map((p) => p.frames));
  const scaleX = Math.max(1, Math.floor(900 / frames));
  const W = Math.min(1200, frames * scaleX) + 20;
  const band = 128;
  const H = band + 16;
  const r = new Raster(W, H * panels.length);
  panels.forEach((p, k) => {
    const top = k * H;
    r.text(10, top + 3, p.title);
    for (let t = 0; t < p.frames; t++)
      for (let m = 0; m < p.bands; m++) {
        const c = viridis((p.mel[t * p.bands + m] - lo) / (hi - lo));
        const y = top + 14 + band - 1 - Math.floor((m * band) / p.bands);
        r.rect(10 + t * scaleX, y, scaleX, Math.max(1, band / p.bands), c);
      }
  });
  return r.png();
}
