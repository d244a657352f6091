/**
 * Fast Griffin-Lim (Perraudin, Balazs & Søndergaard 2013): phase retrieval
 * from an STFT magnitude by alternating projections with momentum,
 *   c_n = P_mag(P_consistent(t_{n-1})),  t_n = c_n + alpha (c_n - c_{n-1}),
 * where P_consistent is STFT(ISTFT(.)) and P_mag keeps the phase and sets the
 * target magnitude. alpha = 0.99 converges several times faster than the
 * original algorithm (alpha = 0) to a more consistent spectrogram.
 *
 * Framing is the codec's: frame t is centred on sample t * hop, spectra are
 * [frames, bins] with each frame's phase relative to its first sample (as
 * Stft.frame and InverseStft use), periodic Hann analysis and synthesis windows.
 */
import type { RealFft } from "./fft.js";
import { isZeroSpan } from "./silence.js";
import { hannWindow } from "./stft.js";

/** Least-squares ISTFT and STFT on one zero-padded frame grid: their composition is the projection onto consistent spectrograms. */
export class FrameGrid {
  readonly n: number;
  readonly bins: number;
  private window: Float32Array;
  private frameBuf: Float32Array;
  private spectrum: Float64Array;
  private envelopes = new Map<number, Float32Array>();

  constructor(
    readonly fft: RealFft,
    readonly hop: number,
  ) {
    this.n = fft.size;
    this.bins = this.n / 2 + 1;
    this.window = Float32Array.from(hannWindow(this.n));
    this.frameBuf = new Float32Array(this.n);
    this.spectrum = new Float64Array(2 * this.bins);
  }

  /** Samples of the grid: frame t covers [t * hop, t * hop + n). Sample half = n/2 is time 0. */
  length(frames: number): number {
    return (frames - 1) * this.hop + this.n;
  }

  /** 1 / sum of squared windows over the grid (0 where it vanishes). */
  private envelope(frames: number): Float32Array {
    let env = this.envelopes.get(frames);
    if (env) return env;
    const sum = new Float64Array(this.length(frames));
    for (let t = 0; t < frames; t++) for (let i = 0; i < this.n; i++) sum[t * this.hop + i] += this.window[i] * this.window[i];
    env = Float32Array.from(sum, (e) => (e > 1e-8 ? 1 / e : 0));
    this.envelopes.set(frames, env);
    return env;
  }

  /** Least-squares signal of re/im [frames, bins] on the grid (length(frames) samples). */
  synthesise(re: Float32Array, im: Float32Array, frames: number, out: Float32Array = new Float32Array(this.length(frames))): Float32Array {
    out.fill(0);
    const w = this.window;
    const f = this.frameBuf;
    for (let t = 0; t < frames; t++) {
      // Silence and a block's padding: nothing to add.
      if (isZeroSpan(re, t * this.bins, this.bins) && isZeroSpan(im, t * this.bins, this.bins)) continue;
      this.fft.inverse(re, im, t * this.bins, f);
      const o = t * this.hop;
      for (let i = 0; i < this.n; i++) out[o + i] += f[i] * w[i];
    }
    const env = this.envelope(frames);
    for (let i = 0; i < out.length; i++) out[i] *= env[i];
    return out;
  }

  /** STFT of a grid signal into re/im [frames, bins]. */
  analyse(x: Float32Array, frames: number, re: Float32Array, im: Float32Array): void {
    const w = this.window;
    const spec = this.spectrum;
    for (let t = 0; t < frames; t++) {
      const o = t * this.hop;
      const b = t * this.bins;
      if (isZeroSpan(x, o, this.n)) {
        // Silence (a block's padding): its spectrum is zero, without an FFT.
        re.fill(0, b, b + this.bins);
        im.fill(0, b, b + this.bins);
        continue;
      }
      const buf = this.fft.inputBuffer();
      for (let i = 0; i < this.n; i++) buf[i] = x[o + i] * w[i];
      this.fft.forward(buf, spec);
      for (let k = 0; k < this.bins; k++) {
        re[b + k] = spec[2 * k];
        im[b + k] = spec[2 * k + 1];
      }
    }
  }

  /** The signal's samples [0, length) in codec time (sample 0 at the centre of frame 0). */
  crop(grid: Float32Array, length: number): Float32Array {
    return grid.slice(this.n / 2, this.n / 2 + length);
  }
}

export interface GriffinLimOptions {
  iterations: number;
  /** FGLA's alpha; 0 is the original Griffin-Lim. */
  momentum: number;
  /** Initial phase [frames, bins] in radians (default: zero). */
  initialPhase?: Float32Array;
  /** Coefficients of the first frames, held fixed (the overlap with a stream's previous block). */
  fixed?: { frames: number; re: Float32Array; im: Float32Array };
}

export const FGLA_DEFAULTS: GriffinLimOptions = { iterations: 32, momentum: 0.99 };

/**
 * Spectrum with magnitude `mag` [frames, bins] and a phase found by FGLA; returns
 * the consistent re/im of the last iterate's signal and that signal on the grid.
 */
export function fastGriffinLim(grid: FrameGrid, mag: Float32Array, frames: number, o: GriffinLimOptions = FGLA_DEFAULTS): { re: Float32Array; im: Float32Array; signal: Float32Array } {
  const size = frames * grid.bins;
  // c: the magnitude-projected iterate; t: with momentum (what is made consistent next).
  const cRe = new Float32Array(size);
  const cIm = new Float32Array(size);
  const nFixed = o.fixed ? o.fixed.frames * grid.bins : 0;
  for (let i = nFixed; i < size; i++) {
    const p = o.initialPhase ? o.initialPhase[i] : 0;
    // Zero phase (PGHI's below its tolerance) needs no trigonometry: the same values.
    if (p === 0) cRe[i] = mag[i];
    else {
      cRe[i] = mag[i] * Math.cos(p);
      cIm[i] = mag[i] * Math.sin(p);
    }
  }
  if (o.fixed) {
    cRe.set(o.fixed.re.subarray(0, nFixed));
    cIm.set(o.fixed.im.subarray(0, nFixed));
  }
  const signal = new Float32Array(grid.length(frames));
  // The iterates (none are needed without iterations: PGHI's phase alone).
  const tRe = o.iterations > 0 ? cRe.slice() : cRe;
  const tIm = o.iterations > 0 ? cIm.slice() : cIm;
  const xRe = new Float32Array(o.iterations > 0 ? size : 0);
  const xIm = new Float32Array(o.iterations > 0 ? size : 0);
  for (let it = 0; it < o.iterations; it++) {
    grid.synthesise(tRe, tIm, frames, signal);
    grid.analyse(signal, frames, xRe, xIm);
    for (let i = nFixed; i < size; i++) {
      const r = Math.sqrt(xRe[i] * xRe[i] + xIm[i] * xIm[i]);
      // A bin that analysed to exactly zero keeps the previous phase.
      const nr = r > 1e-20 ? (mag[i] * xRe[i]) / r : cRe[i];
      const ni = r > 1e-20 ? (mag[i] * xIm[i]) / r : cIm[i];
      tRe[i] = nr + o.momentum * (nr - cRe[i]);
      tIm[i] = ni + o.momentum * (ni - cIm[i]);
      cRe[i] = nr;
      cIm[i] = ni;
    }
  }
  grid.synthesise(cRe, cIm, frames, signal);
  return { re: cRe, im: cIm, signal };
}

/** Spectral convergence ||  |STFT(x)| - mag ||_F / || mag ||_F of a grid signal: how consistent the magnitude is. */
export function spectralConvergence(grid: FrameGrid, signal: Float32Array, mag: Float32Array, frames: number): number {
  const size = frames * grid.bins;
  const re = new Float32Array(size);
  const im = new Float32Array(size);
  grid.analyse(signal, frames, re, im);
  let num = 0;
  let den = 0;
  for (let i = 0; i < size; i++) {
    const d = Math.sqrt(re[i] * re[i] + im[i] * im[i]) - mag[i];
    num += d * d;
    den += mag[i] * mag[i];
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}
