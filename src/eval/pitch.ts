/**
 * F0 tracking by YIN (de Cheveigné & Kawahara 2002, JASA 111(4)) and the pitch
 * measures built on it: F0 error in cents, voicing decision error (VDE) and
 * gross pitch error (GPE).
 *
 * Settings (at 24 kHz; lags scale with the sample rate):
 * - F0 range 50-800 Hz: lags 30..480 samples, low male speech to high soprano.
 * - Integration window 25 ms (the paper's), so one frame reads 25 ms plus the
 *   longest lag (20 ms): 45 ms.
 * - Hop 10 ms, not the codec's 512 samples (21.3 ms): 10 ms is the frame rate
 *   pitch references and VDE/GPE figures are usually given at, and it resolves
 *   voicing onsets twice as finely. The FFT difference function keeps it cheap
 *   (about 0.1 ms a frame).
 * - Voiced when the cumulative mean normalised difference (CMND) dips below
 *   0.15 somewhere in the lag range (YIN's absolute threshold doubles as the
 *   voicing threshold: a frame with no dip that deep is too aperiodic to have
 *   a pitch) and the frame is no more than 40 dB below the clip's loudest
 *   frame (a relative gate, so the tracker does not depend on the recording
 *   level; silence and near-silent hum are unvoiced).
 */
import FFT from "fft.js";
import { assertSameLength } from "./metrics.js";

export const F0_MIN_HZ = 50;
export const F0_MAX_HZ = 800;
export const HOP_SECONDS = 0.01;
export const WINDOW_SECONDS = 0.025;
const CMND_THRESHOLD = 0.15;
const GATE_DB = 40;
/** GPE counts a frame whose F0 is off by more than 20% (Chu & Alwan's convention), about 316 cents. */
export const GROSS_ERROR_RATIO = 0.2;

export interface F0Track {
  /** F0 in Hz per frame; 0 = unvoiced. */
  f0: Float32Array;
  /** CMND at the chosen lag (0 = perfectly periodic, ~1 = noise); 1 where the frame is gated as silent. */
  aperiodicity: Float32Array;
  hopSeconds: number;
  /**
   * Frame i reads samples [i·hop, i·hop + frameSeconds): the integration
   * window plus the longest lag. Its F0 is the pitch about
   * (WINDOW_SECONDS + 1/f0) / 2 after the frame's start.
   */
  frameSeconds: number;
}

export function trackF0(audio: Float32Array, sampleRate: number): F0Track {
  const minLag = Math.floor(sampleRate / F0_MAX_HZ);
  const maxLag = Math.ceil(sampleRate / F0_MIN_HZ);
  const win = Math.round(WINDOW_SECONDS * sampleRate);
  const hop = Math.round(HOP_SECONDS * sampleRate);
  const span = win + maxLag;
  const frames = audio.length >= span ? Math.floor((audio.length - span) / hop) + 1 : 0;
  const f0 = new Float32Array(frames);
  const aperiodicity = new Float32Array(frames).fill(1);
  const result = { f0, aperiodicity, hopSeconds: hop / sampleRate, frameSeconds: span / sampleRate };
  if (frames === 0) return result;

  // Energy of each frame's integration window, from prefix sums of the squared signal.
  const power = new Float64Array(audio.length + 1);
  for (let i = 0; i < audio.length; i++) power[i + 1] = power[i] + audio[i] * audio[i];
  const energy = (start: number) => power[start + win] - power[start];
  let loudest = 0;
  for (let i = 0; i < frames; i++) loudest = Math.max(loudest, energy(i * hop));
  // Energies compare as squares: -40 dB in amplitude is 1e-4 in energy; the absolute floor (~-100 dBFS rms) is only a guard against zeros.
  const gate = Math.max(loudest * 10 ** (-GATE_DB / 10), win * 1e-10);

  const diff = new YinDifference(win, maxLag);
  const cmnd = new Float64Array(maxLag + 1);
  for (let i = 0; i < frames; i++) {
    const start = i * hop;
    if (energy(start) < gate) continue;
    const d = diff.compute(audio, start);
    // d'(tau) = d(tau) / ((1/tau) sum_{j=1..tau} d(j)); d'(0) = 1.
    cmnd[0] = 1;
    let running = 0;
    for (let tau = 1; tau <= maxLag; tau++) {
      running += d[tau];
      cmnd[tau] = running > 0 ? (d[tau] * tau) / running : 1;
    }
    const tau = chooseLag(cmnd, minLag, maxLag);
    aperiodicity[i] = cmnd[tau];
    if (cmnd[tau] >= CMND_THRESHOLD) continue;
    // Interpolated on d itself, as in the paper: the CMND's 1/running-mean factor tilts the parabola (about 1 cent at 700 Hz).
    f0[i] = sampleRate / (tau + parabolicOffset(d, tau, minLag, maxLag));
  }
  return result;
}

/** YIN step 4: the first lag whose CMND is below the threshold, moved on to the bottom of its dip; else the global minimum. */
function chooseLag(cmnd: Float64Array, minLag: number, maxLag: number): number {
  for (let tau = minLag; tau <= maxLag; tau++) {
    if (cmnd[tau] < CMND_THRESHOLD) {
      while (tau + 1 <= maxLag && cmnd[tau + 1] < cmnd[tau]) tau++;
      return tau;
    }
  }
  let best = minLag;
  for (let tau = minLag + 1; tau <= maxLag; tau++) if (cmnd[tau] < cmnd[best]) best = tau;
  return best;
}

/** YIN step 5: the vertex of the parabola through the minimum and its neighbours, in samples from `tau`. */
function parabolicOffset(c: Float64Array, tau: number, minLag: number, maxLag: number): number {
  if (tau <= minLag || tau >= maxLag) return 0;
  const curvature = c[tau - 1] - 2 * c[tau] + c[tau + 1];
  if (curvature <= 0) return 0;
  return Math.max(-1, Math.min(1, (c[tau - 1] - c[tau + 1]) / (2 * curvature)));
}

/**
 * YIN's difference function d(tau) = sum_{j<W} (x_j - x_{j+tau})^2 for
 * tau = 0..maxLag, as energy terms (prefix sums) minus twice a
 * cross-correlation (one FFT product): O(n log n) a frame instead of
 * O(W·maxLag). fft.js directly, not RealFft: its inverse works in float32, and
 * d(tau) near the period is a small difference of large sums.
 */
export class YinDifference {
  private readonly size: number;
  private readonly fft: FFT;
  private readonly head: Float64Array;
  private readonly frame: Float64Array;
  private readonly headSpec: Float64Array;
  private readonly frameSpec: Float64Array;
  private readonly product: Float64Array;
  private readonly corr: Float64Array;
  private readonly squares: Float64Array;
  private readonly d: Float64Array;

  constructor(private readonly win: number, private readonly maxLag: number) {
    // Linear (not circular) correlation up to maxLag needs size >= win + maxLag.
    let size = 2;
    while (size < win + maxLag) size <<= 1;
    this.size = size;
    this.fft = new FFT(size);
    this.head = new Float64Array(size);
    this.frame = new Float64Array(size);
    this.headSpec = new Float64Array(2 * size);
    this.frameSpec = new Float64Array(2 * size);
    this.product = new Float64Array(2 * size);
    this.corr = new Float64Array(2 * size);
    this.squares = new Float64Array(win + maxLag + 1);
    this.d = new Float64Array(maxLag + 1);
  }

  /** d(0..maxLag) for the frame starting at `start` (valid until the next call). */
  compute(x: Float32Array, start: number): Float64Array {
    const { win, maxLag, size, fft } = this;
    const span = win + maxLag;
    for (let j = 0; j < span; j++) this.frame[j] = x[start + j];
    for (let j = 0; j < win; j++) this.head[j] = x[start + j];
    for (let j = 0; j < span; j++) this.squares[j + 1] = this.squares[j] + this.frame[j] * this.frame[j];
    const asArray = (a: Float64Array) => a as unknown as number[];
    fft.realTransform(asArray(this.headSpec), asArray(this.head));
    fft.completeSpectrum(asArray(this.headSpec));
    fft.realTransform(asArray(this.frameSpec), asArray(this.frame));
    fft.completeSpectrum(asArray(this.frameSpec));
    // r(tau) = sum_j head_j frame_{j+tau} = IFFT(conj(H) F).
    const h = this.headSpec, f = this.frameSpec, p = this.product;
    for (let k = 0; k < 2 * size; k += 2) {
      p[k] = h[k] * f[k] + h[k + 1] * f[k + 1];
      p[k + 1] = h[k] * f[k + 1] - h[k + 1] * f[k];
    }
    fft.inverseTransform(asArray(this.corr), asArray(p));
    const e0 = this.squares[win];
    for (let tau = 0; tau <= maxLag; tau++) {
      const eTau = this.squares[tau + win] - this.squares[tau];
      // Rounding can leave a tiny negative where the true value is zero.
      this.d[tau] = Math.max(0, e0 + eTau - 2 * this.corr[2 * tau]);
    }
    return this.d;
  }
}

export interface PitchMetrics {
  /** Mean |1200 log2(f_deg / f_ref)| over frames voiced in both; NaN when there are none. */
  f0Cents: number;
  /** Fraction of frames whose voiced/unvoiced decision differs; NaN for a signal shorter than one frame. */
  vde: number;
  /** Fraction of frames voiced in both whose F0 is off by more than 20%; NaN when there are none. */
  gpe: number;
}

/** Pitch measures of a degraded signal against its reference (equal lengths: align first). */
export function pitchMetrics(ref: Float32Array, deg: Float32Array, sampleRate = 24000): PitchMetrics {
  assertSameLength(ref, deg, "pitch metrics");
  return compareTracks(trackF0(ref, sampleRate).f0, trackF0(deg, sampleRate).f0);
}

/** Pitch measures from two F0 tracks of the same frames (0 = unvoiced). */
export function compareTracks(ref: Float32Array, deg: Float32Array): PitchMetrics {
  const n = Math.min(ref.length, deg.length);
  let differ = 0;
  let both = 0;
  let cents = 0;
  let gross = 0;
  for (let i = 0; i < n; i++) {
    const rv = ref[i] > 0, dv = deg[i] > 0;
    if (rv !== dv) differ++;
    if (!rv || !dv) continue;
    both++;
    cents += Math.abs(1200 * Math.log2(deg[i] / ref[i]));
    if (Math.abs(deg[i] / ref[i] - 1) > GROSS_ERROR_RATIO) gross++;
  }
  return { f0Cents: both > 0 ? cents / both : NaN, vde: n > 0 ? differ / n : NaN, gpe: both > 0 ? gross / both : NaN };
}
