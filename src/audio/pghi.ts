/**
 * Phase Gradient Heap Integration (Průša, Balazs & Søndergaard 2017): a phase
 * for an STFT magnitude with no iterations. For a Gaussian window the phase
 * gradient follows from the log-magnitude's gradient; a Hann window of length
 * L is close to a Gaussian with gamma = 0.25645 L^2. With s = log|X| and the
 * window centred on each frame's middle:
 *   phase step to the next frame  = hop * (omega_k + (M / gamma) ds/dk)
 *   phase step to the next bin    = -(gamma / (hop M)) ds/dn
 * (omega_k = 2 pi k / M; a sinusoid's frequency and an impulse's delay as the
 * Gaussian's magnitude encodes them). The phase is integrated along the
 * largest coefficients first (a max-heap), by the trapezoidal rule, so errors
 * start and travel where the signal is strong. Coefficients below `tol` of
 * the maximum get phase 0: their phase cannot be estimated and hardly matters.
 * Redundancy 4 (n_fft 2048, hop 512) is the least at which PGHI works well.
 */

import { isZeroSpan } from "./silence.js";

/** gamma / L^2 of the Gaussian closest to a Hann window (the PGHI paper's table). */
const HANN_GAMMA = 0.25645;

export interface PghiOptions {
  /** Relative magnitude below which coefficients get zero phase. */
  tol: number;
  /** First pass integrates only coefficients above this relative magnitude (then the rest down to tol). */
  firstPassTol: number;
}

export const PGHI_DEFAULTS: PghiOptions = { tol: 1e-5, firstPassTol: 0.1 };

/**
 * A max-priority queue of coefficient indices by log-magnitude, quantised to
 * BUCKETS_PER_NAT buckets per nat (0.07 dB): O(1) push and pop instead of a
 * heap's O(log n). Integration order within one bucket is last-in first-out;
 * magnitudes that close are interchangeable as integration starts.
 */
const BUCKETS_PER_NAT = 128;

class BucketQueue {
  private head: Int32Array;
  private next: Int32Array;
  private bucket: Int32Array;
  private top = -1;
  private count = 0;
  constructor(logMag: Float32Array, floor: number, ceiling: number) {
    const buckets = Math.max(1, Math.ceil((ceiling - floor) * BUCKETS_PER_NAT) + 1);
    this.head = new Int32Array(buckets).fill(-1);
    this.next = new Int32Array(logMag.length);
    this.bucket = new Int32Array(logMag.length);
    for (let i = 0; i < logMag.length; i++) this.bucket[i] = Math.min(buckets - 1, Math.max(0, Math.floor((logMag[i] - floor) * BUCKETS_PER_NAT)));
  }
  get empty(): boolean {
    return this.count === 0;
  }
  push(i: number): void {
    const b = this.bucket[i];
    this.next[i] = this.head[b];
    this.head[b] = i;
    if (b > this.top) this.top = b;
    this.count++;
  }
  pop(): number {
    while (this.head[this.top] < 0) this.top--;
    const i = this.head[this.top];
    this.head[this.top] = this.next[i];
    this.count--;
    return i;
  }
  /** Every index in descending bucket order (a counting sort): the seeds of new islands. */
  descending(): Int32Array {
    const n = this.bucket.length;
    const buckets = this.head.length;
    const start = new Int32Array(buckets + 1);
    for (let i = 0; i < n; i++) start[buckets - this.bucket[i]]++;
    for (let b = 1; b <= buckets; b++) start[b] += start[b - 1];
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[start[buckets - 1 - this.bucket[i]]++] = i;
    return out;
  }
}

/**
 * The first `frames` frames are decided by the caller (the overlap with the previous block of a
 * stream, whose coefficients it keeps): integration continues from the last of them, whose phase
 * `lastPhase` [bins] is in the same convention as the result (relative to the frame's first sample).
 * Only that frame borders undecided coefficients, so the others' phases are not needed.
 */
export interface KnownPhase {
  frames: number;
  lastPhase: Float32Array;
}

/**
 * Phase [frames, bins] (radians, each frame's phase relative to its first sample) for magnitudes
 * [frames, bins]. With `known`, integration starts from the last known frame's phase; the known
 * frames themselves hold 0 (the caller's coefficients stand there).
 */
export function pghiPhase(mag: Float32Array, frames: number, nFft: number, hop: number, o: PghiOptions = PGHI_DEFAULTS, known?: KnownPhase): Float32Array {
  const bins = nFft / 2 + 1;
  // Silent frames at the end (a block's padding after the signal) get phase 0 and steer nothing
  // but their neighbour's time gradient: integrate up to one silent frame past the last sound.
  let last = frames;
  while (last > 0 && isZeroSpan(mag, (last - 1) * bins, bins)) last--;
  const used = Math.min(frames, last + 1);
  if (last > 0 && used < frames && used > (known?.frames ?? 0)) {
    const phase = new Float32Array(frames * bins);
    phase.set(pghiPhase(mag.subarray(0, used * bins), used, nFft, hop, o, known));
    for (let t = used; t < frames; t++) for (let k = 1; k < bins; k += 2) phase[t * bins + k] = Math.PI; // phase 0 about the centre
    return phase;
  }
  const size = frames * bins;
  const gamma = HANN_GAMMA * nFft * nFft;
  let max = 0;
  for (let i = 0; i < size; i++) if (mag[i] > max) max = mag[i];
  const phase = new Float32Array(size);
  if (max === 0) return phase;
  const logMag = new Float32Array(size);
  const least = max * 1e-10;
  const logLeast = Math.log(least);
  for (let i = 0; i < size; i++) logMag[i] = mag[i] > least ? Math.log(mag[i]) : logLeast; // silence: no log to take
  // Phase derivatives: tGrad per frame step, fGrad per bin step (centred differences, one-sided at
  // the edges; the edges outside the inner loop, which then has no branches).
  const tGrad = new Float32Array(size);
  const fGrad = new Float32Array(size);
  const omega = Float64Array.from({ length: bins }, (_, k) => (2 * Math.PI * k) / nFft);
  const perBin = nFft / gamma;
  const perFrame = -gamma / (hop * nFft);
  for (let t = 0; t < frames; t++) {
    const row = t * bins;
    // The neighbours in time: a row's frame differences as (next - prev) / scale.
    const next = t + 1 < frames ? row + bins : row;
    const prev = t > 0 ? row - bins : row;
    const centred = frames > 1 && t > 0 && t + 1 < frames;
    for (let k = 0; k < bins; k++) {
      const i = row + k;
      const dn = frames === 1 ? 0 : centred ? (logMag[next + k] - logMag[prev + k]) / 2 : logMag[next + k] - logMag[prev + k];
      fGrad[i] = perFrame * dn;
    }
    tGrad[row] = hop * (omega[0] + perBin * (logMag[row + 1] - logMag[row]));
    for (let k = 1; k < bins - 1; k++) tGrad[row + k] = hop * (omega[k] + perBin * ((logMag[row + k + 1] - logMag[row + k - 1]) / 2));
    tGrad[row + bins - 1] = hop * (omega[bins - 1] + perBin * (logMag[row + bins - 1] - logMag[row + bins - 2]));
  }
  const done = new Uint8Array(size);
  const nKnown = known ? known.frames * bins : 0;
  if (known) {
    done.fill(1, 0, nKnown);
    // Stored relative to the frame's first sample; integrated here relative to its centre.
    const last = nKnown - bins;
    for (let k = 0; k < bins; k++) phase[last + k] = known.lastPhase[k] - (k % 2) * Math.PI;
  }
  /** Whether coefficient i borders one not yet integrated: only those can pass a phase on. */
  const frontier = (i: number): boolean => {
    const t = (i / bins) | 0;
    const k = i - t * bins;
    return (t + 1 < frames && !done[i + bins]) || (t > 0 && !done[i - bins]) || (k + 1 < bins && !done[i + 1]) || (k > 0 && !done[i - 1]);
  };
  const queue = new BucketQueue(logMag, Math.log(max * o.tol), Math.log(max));
  const seeds = queue.descending();
  let nextSeed = 0;
  const assign = (j: number, value: number) => {
    phase[j] = value;
    done[j] = 1;
    queue.push(j);
  };
  for (const tol of [o.firstPassTol, o.tol]) {
    const limit = tol * max;
    // Continue from every coefficient already integrated, then seed new islands at their largest
    // coefficient. Those with no undone neighbour would pass nothing on when popped, so they are
    // left out: the integration (order and values) is the same, the queue much shorter.
    for (let i = 0; i < size; i++) if (done[i] && frontier(i)) queue.push(i);
    for (;;) {
      while (!queue.empty) {
        const i = queue.pop();
        const t = (i / bins) | 0;
        const k = i - t * bins;
        let j = i + bins;
        if (t + 1 < frames && !done[j] && mag[j] >= limit) assign(j, phase[i] + (tGrad[i] + tGrad[j]) / 2);
        j = i - bins;
        if (t > 0 && !done[j] && mag[j] >= limit) assign(j, phase[i] - (tGrad[i] + tGrad[j]) / 2);
        j = i + 1;
        if (k + 1 < bins && !done[j] && mag[j] >= limit) assign(j, phase[i] + (fGrad[i] + fGrad[j]) / 2);
        j = i - 1;
        if (k > 0 && !done[j] && mag[j] >= limit) assign(j, phase[i] - (fGrad[i] + fGrad[j]) / 2);
      }
      while (nextSeed < size && done[seeds[nextSeed]]) nextSeed++;
      if (nextSeed === size || mag[seeds[nextSeed]] < limit) break;
      assign(seeds[nextSeed], 0);
    }
  }
  // Centred-window phase to first-sample phase: the frame's middle is n/2 samples in, a factor e^{-i pi k}.
  for (let t = 0; t < frames; t++) for (let k = 1; k < bins; k++) phase[t * bins + k] += k % 2 ? Math.PI : 0;
  phase.fill(0, 0, nKnown);
  return phase;
}
