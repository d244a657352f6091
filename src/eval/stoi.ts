/**
 * STOI (Taal et al. 2011) and extended STOI (Jensen & Taal 2016), following the
 * published algorithms as pystoi implements them: 10 kHz, 256-sample Hann
 * frames with 50% overlap, silent frames (40 dB below the loudest) removed,
 * 512-point DFT, 15 one-third-octave bands from 150 Hz, 30-frame (384 ms)
 * segments; STOI clips the normalised degraded envelope at -15 dB SDR and
 * averages band correlations, ESTOI normalises rows and columns of each
 * segment and averages their inner products. Input at any rate is first
 * resampled to 10 kHz (libsamplerate; pystoi uses a polyphase filter).
 */
import FFT from "fft.js";
import { resample } from "../audio/resample.js";
import { assertSameLength } from "./metrics.js";

const FS = 10000;
const N_FRAME = 256;
const NFFT = 512;
const NUM_BANDS = 15;
const MIN_FREQ = 150;
const N = 30;
const BETA = -15;
const DYN_RANGE = 40;
const EPS = 2.220446049250313e-16;

/** numpy.hanning(n + 2)[1:-1] */
function stoiWindow(n: number): Float64Array {
  const m = n + 2;
  const w = new Float64Array(n);
  for (let i = 1; i <= n; i++) w[i - 1] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (m - 1));
  return w;
}

function frames(x: Float64Array, len: number, hop: number, w: Float64Array): Float64Array[] {
  const out: Float64Array[] = [];
  for (let i = 0; i < x.length - len; i += hop) {
    const f = new Float64Array(len);
    for (let j = 0; j < len; j++) f[j] = w[j] * x[i + j];
    out.push(f);
  }
  return out;
}

function overlapAdd(fs: Float64Array[], hop: number): Float64Array {
  if (fs.length === 0) return new Float64Array(0);
  const len = fs[0].length;
  const out = new Float64Array((fs.length - 1) * hop + len);
  fs.forEach((f, i) => {
    for (let j = 0; j < len; j++) out[i * hop + j] += f[j];
  });
  return out;
}

/** Drops frames more than 40 dB below the reference's loudest, from both signals. */
export function removeSilentFrames(x: Float64Array, y: Float64Array): [Float64Array, Float64Array] {
  const w = stoiWindow(N_FRAME);
  const hop = N_FRAME / 2;
  const xf = frames(x, N_FRAME, hop, w);
  const yf = frames(y, N_FRAME, hop, w);
  const energy = xf.map((f) => 20 * Math.log10(Math.sqrt(f.reduce((s, v) => s + v * v, 0)) + EPS));
  const max = Math.max(...energy);
  const keep = energy.map((e) => max + DYN_RANGE - e > 0);
  return [overlapAdd(xf.filter((_, i) => keep[i]), hop), overlapAdd(yf.filter((_, i) => keep[i]), hop)];
}

/** One-third-octave band matrix [bands][bins] of 0/1 (pystoi's thirdoct). */
function thirdOctaveBands(): { lo: number[]; hi: number[] } {
  const bins = NFFT / 2 + 1;
  const f = Array.from({ length: bins }, (_, i) => (i * FS) / NFFT);
  const nearest = (v: number) => {
    let best = 0;
    for (let i = 1; i < bins; i++) if ((f[i] - v) ** 2 < (f[best] - v) ** 2) best = i;
    return best;
  };
  const lo: number[] = [];
  const hi: number[] = [];
  for (let k = 0; k < NUM_BANDS; k++) {
    lo.push(nearest(MIN_FREQ * 2 ** ((2 * k - 1) / 6)));
    hi.push(nearest(MIN_FREQ * 2 ** ((2 * k + 1) / 6)));
  }
  return { lo, hi };
}

/** Third-octave band envelopes [frames][bands]. */
function bandEnvelopes(x: Float64Array): Float64Array[] {
  const w = stoiWindow(N_FRAME);
  const fft = new FFT(NFFT);
  const buf = new Float64Array(NFFT);
  const spec = new Float64Array(2 * NFFT);
  const { lo, hi } = thirdOctaveBands();
  return frames(x, N_FRAME, N_FRAME / 2, w).map((fr) => {
    buf.fill(0);
    buf.set(fr);
    fft.realTransform(spec as unknown as number[], buf as unknown as number[]);
    const env = new Float64Array(NUM_BANDS);
    for (let b = 0; b < NUM_BANDS; b++) {
      let s = 0;
      for (let k = lo[b]; k < hi[b]; k++) s += spec[2 * k] ** 2 + spec[2 * k + 1] ** 2;
      env[b] = Math.sqrt(s);
    }
    return env;
  });
}

const norm = (v: Float64Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

function centreAndNormalise(v: Float64Array): Float64Array {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const c = v.map((x) => x - mean);
  const n = norm(c) + EPS;
  return c.map((x) => x / n);
}

/** STOI / ESTOI of signals already at 10 kHz. */
export function stoi10k(ref: Float64Array, deg: Float64Array, extended: boolean): number {
  const [x, y] = removeSilentFrames(ref, deg);
  const X = bandEnvelopes(x);
  const Y = bandEnvelopes(y);
  const segments = X.length - N + 1;
  if (segments < 1) return 1e-5; // too short after silence removal (pystoi's convention)
  let total = 0;
  for (let m = N; m <= X.length; m++) {
    // seg[b][n]: band b, frame n of the segment
    const xs = Array.from({ length: NUM_BANDS }, (_, b) => Float64Array.from({ length: N }, (_, n) => X[m - N + n][b]));
    const ys = Array.from({ length: NUM_BANDS }, (_, b) => Float64Array.from({ length: N }, (_, n) => Y[m - N + n][b]));
    if (!extended) {
      const clip = 10 ** (-BETA / 20);
      let d = 0;
      for (let b = 0; b < NUM_BANDS; b++) {
        const k = norm(xs[b]) / (norm(ys[b]) + EPS);
        const yp = ys[b].map((v, n) => Math.min(v * k, xs[b][n] * (1 + clip)));
        const a = centreAndNormalise(xs[b]);
        const c = centreAndNormalise(yp);
        for (let n = 0; n < N; n++) d += a[n] * c[n];
      }
      total += d / NUM_BANDS;
    } else {
      const rowCol = (s: Float64Array[]) => {
        const rows = s.map(centreAndNormalise); // each band over time
        const cols = Array.from({ length: N }, (_, n) => centreAndNormalise(Float64Array.from({ length: NUM_BANDS }, (_, b) => rows[b][n])));
        return cols; // cols[n][b]
      };
      const a = rowCol(xs);
      const c = rowCol(ys);
      let d = 0;
      for (let n = 0; n < N; n++) for (let b = 0; b < NUM_BANDS; b++) d += a[n][b] * c[n][b];
      total += d / N;
    }
  }
  return total / segments;
}

export async function stoi(ref: Float32Array, deg: Float32Array, sampleRate: number, extended = false): Promise<number> {
  assertSameLength(ref, deg, extended ? "ESTOI" : "STOI");
  const a = await resample(ref, sampleRate, FS);
  const b = await resample(deg, sampleRate, FS);
  return stoi10k(Float64Array.from(a), Float64Array.from(b), extended);
}
