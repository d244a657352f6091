/** Short-time Fourier analysis (on any RealFft) and synthesis (on fft.js), in float64. */
import FFT from "fft.js";
import { fftJs, type RealFft } from "./fft.js";

/** Periodic Hann window (torch.hann_window default). */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/**
 * 1 / (sum of squared Hann windows) at each sample of a centred inverse STFT of
 * `frames` frames (samples 0 .. frames * hop, sample 0 at the centre of frame 0),
 * 0 where the sum vanishes: the overlap-add normalisation of torch.istft.
 */
export function istftEnvelope(nFft: number, hop: number, frames: number): Float32Array {
  const w = hannWindow(nFft);
  const half = nFft / 2;
  const out = frames * hop;
  const sum = new Float64Array(out);
  for (let t = 0; t < frames; t++)
    for (let i = 0; i < nFft; i++) {
      const j = t * hop - half + i;
      if (j >= 0 && j < out) sum[j] += w[i] * w[i];
    }
  return Float32Array.from(sum, (e) => (e > 1e-11 ? 1 / e : 0));
}

/** Index into x as if it were reflect-padded (no edge repeat), folding as often as needed. */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

export class Stft {
  readonly nFft: number;
  readonly hop: number;
  readonly window: Float64Array;
  readonly bins: number;
  private fft: FFT;
  private realFft: RealFft;

  constructor(nFft: number, hop: number, window: Float64Array = hannWindow(nFft), realFft: RealFft = fftJs(nFft)) {
    if (realFft.size !== nFft) throw new Error(`FFT of size ${realFft.size} given for an STFT of ${nFft} points`);
    this.nFft = nFft;
    this.hop = hop;
    this.window = window;
    this.bins = nFft / 2 + 1;
    this.fft = new FFT(nFft);
    this.realFft = realFft;
  }

  /** Number of frames of a centred STFT: floor(len / hop) + 1. */
  frameCount(length: number): number {
    return Math.floor(length / this.hop) + 1;
  }

  /**
   * Windowed spectrum of centred frame `t` of a signal of `total` samples
   * (reflect padding of nFft/2), as interleaved [re, im] pairs of `bins` bins
   * written to `out`. x holds the signal's samples from index `offset` on
   * (all of it by default); it must cover the frame and, near the signal's
   * ends, the samples the padding reflects.
   */
  frame(x: Float32Array | Float64Array, t: number, out: Float64Array, offset = 0, total = x.length): void {
    this.realFft.forward(this.windowed(x, t, offset, total), out);
  }

  /** Windowed samples of frame t (see `frame`), in a buffer reused by the next call. */
  private windowed(x: Float32Array | Float64Array, t: number, offset: number, total: number): Float32Array | Float64Array {
    const half = this.nFft / 2;
    const begin = t * this.hop - half;
    const buf = this.realFft.inputBuffer(); // windowing straight into the FFT's input saves a copy
    const w = this.window;
    if (begin >= 0 && begin + this.nFft <= total) for (let i = 0, j = begin - offset; i < this.nFft; i++, j++) buf[i] = x[j] * w[i];
    else
      for (let i = 0; i < this.nFft; i++) {
        const j = begin + i;
        buf[i] = x[(j >= 0 && j < total ? j : reflectIndex(j, total)) - offset] * w[i];
      }
    return buf;
  }

  /** Magnitudes of frame t written to `mag` (length bins). */
  magnitude(x: Float32Array | Float64Array, t: number, mag: Float64Array, offset = 0, total = x.length): void {
    this.realFft.magnitude(this.windowed(x, t, offset, total), mag);
  }

  /** Full complex STFT: array of frames, each interleaved [re, im] x bins. */
  analyse(x: Float32Array | Float64Array): Float64Array[] {
    const frames = this.frameCount(x.length);
    const out: Float64Array[] = [];
    for (let t = 0; t < frames; t++) {
      const f = new Float64Array(2 * this.bins);
      this.frame(x, t, f);
      out.push(f);
    }
    return out;
  }

  /**
   * Inverse of `analyse` by windowed overlap-add with squared-window normalisation
   * (torch.istft semantics, centre=true). `length` trims the output.
   */
  synthesise(frames: Float64Array[], length: number): Float64Array {
    const n = this.nFft;
    const half = n / 2;
    const total = (frames.length - 1) * this.hop + n;
    const acc = new Float64Array(total);
    const wsum = new Float64Array(total);
    const full = new Float64Array(2 * n);
    const time = new Float64Array(2 * n);
    for (let t = 0; t < frames.length; t++) {
      const f = frames[t];
      // Rebuild the Hermitian-symmetric spectrum, then inverse transform.
      for (let k = 0; k < this.bins; k++) {
        full[2 * k] = f[2 * k];
        full[2 * k + 1] = f[2 * k + 1];
      }
      for (let k = this.bins; k < n; k++) {
        full[2 * k] = f[2 * (n - k)];
        full[2 * k + 1] = -f[2 * (n - k) + 1];
      }
      this.fft.inverseTransform(time as unknown as number[], full as unknown as number[]);
      const off = t * this.hop;
      for (let i = 0; i < n; i++) {
        acc[off + i] += time[2 * i] * this.window[i];
        wsum[off + i] += this.window[i] * this.window[i];
      }
    }
    const out = new Float64Array(length);
    for (let i = 0; i < length; i++) {
      const j = i + half;
      out[i] = j < total && wsum[j] > 1e-11 ? acc[j] / wsum[j] : 0;
    }
    return out;
  }
}
