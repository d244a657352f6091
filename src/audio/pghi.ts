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

/** gamma / L^2 of the Gaussian closest to a Hann window (the PGHI paper's table). */
const HANN_GAMMA = 0.25645;

export interface PghiOptions {
  /** Relative magnitude below which coefficients get zero phase. */
  tol: number;
  /** First pass integrates only coefficients above this relative magnitude (then the rest down to tol). */
  firstPassTol: number;
}

export const PGHI_DEFAULTS: PghiOptions = { tol: 1e-5, firstPassTol: 0.1 };

/** Max-heap of coefficient indices keyed by magnitude (keys stored beside the indices: no indirection in the sift loops). */
class MagnitudeHeap {
  private items: Int32Array;
  private keys: Float32Array;
  private size = 0;
  constructor(
    capacity: number,
    private mag: Float32Array,
  ) {
    this.items = new Int32Array(capacity);
    this.keys = new Float32Array(capacity);
  }
  get empty(): boolean {
    return this.size === 0;
  }
  peek(): number {
    return this.items[0];
  }
  push(i: number): void {
    const { items, keys } = this;
    const key = this.mag[i];
    let j = this.size++;
    while (j > 0) {
      const p = (j - 1) >> 1;
      if (keys[p] >= key) break;
      items[j] = items[p];
      keys[j] = keys[p];
      j = p;
    }
    items[j] = i;
    keys[j] = key;
  }
  pop(): number {
    const { items, keys } = this;
    const top = items[0];
    const n = --this.size;
    const last = items[n];
    const lastKey = keys[n];
    let j = 0;
    for (;;) {
      let c = 2 * j + 1;
      if (c >= n) break;
      if (c + 1 < n && keys[c + 1] > keys[c]) c++;
      if (keys[c] <= lastKey) break;
      items[j] = items[c];
      keys[j] = keys[c];
      j = c;
    }
    if (n > 0) {
      items[j] = last;
      keys[j] = lastKey;
    }
    return top;
  }
}

/** Phase [frames, bins] (radians, each frame's phase relative to its first sample) for magnitudes [frames, bins]. */
export function pghiPhase(mag: Float32Array, frames: number, nFft: number, hop: number, o: PghiOptions = PGHI_DEFAULTS): Float32Array {
  const bins = nFft / 2 + 1;
  const size = frames * bins;
  const gamma = HANN_GAMMA * nFft * nFft;
  let max = 0;
  for (let i = 0; i < size; i++) if (mag[i] > max) max = mag[i];
  const phase = new Float32Array(size);
  if (max === 0) return phase;
  const logMag = new Float32Array(size);
  for (let i = 0; i < size; i++) logMag[i] = Math.log(Math.max(mag[i], max * 1e-10));
  // Phase derivatives: tGrad per frame step, fGrad per bin step (centred differences, one-sided at the edges).
  const tGrad = new Float32Array(size);
  const fGrad = new Float32Array(size);
  for (let t = 0; t < frames; t++)
    for (let k = 0; k < bins; k++) {
      const i = t * bins + k;
      const dk = k === 0 ? logMag[i + 1] - logMag[i] : k === bins - 1 ? logMag[i] - logMag[i - 1] : (logMag[i + 1] - logMag[i - 1]) / 2;
      const dn = frames === 1 ? 0 : t === 0 ? logMag[i + bins] - logMag[i] : t === frames - 1 ? logMag[i] - logMag[i - bins] : (logMag[i + bins] - logMag[i - bins]) / 2;
      tGrad[i] = hop * ((2 * Math.PI * k) / nFft + (nFft / gamma) * dk);
      fGrad[i] = (-gamma / (hop * nFft)) * dn;
    }
  const done = new Uint8Array(size);
  const heap = new MagnitudeHeap(size, mag);
  // Seeds of new islands come from a second heap of every coefficient (heapified once, popped lazily).
  const seeds = new MagnitudeHeap(size, mag);
  for (let i = 0; i < size; i++) seeds.push(i);
  const assign = (j: number, value: number) => {
    phase[j] = value;
    done[j] = 1;
    heap.push(j);
  };
  for (const tol of [o.firstPassTol, o.tol]) {
    const limit = tol * max;
    // Continue from every coefficient already integrated, then seed new islands at their largest coefficient.
    for (let i = 0; i < size; i++) if (done[i]) heap.push(i);
    for (;;) {
      while (!heap.empty) {
        const i = heap.pop();
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
      while (!seeds.empty && done[seeds.peek()]) seeds.pop();
      if (seeds.empty || mag[seeds.peek()] < limit) break;
      assign(seeds.pop(), 0);
    }
  }
  // Centred-window phase to first-sample phase: the frame's middle is n/2 samples in, a factor e^{-i pi k}.
  for (let t = 0; t < frames; t++) for (let k = 1; k < bins; k += 2) phase[t * bins + k] += Math.PI;
  return phase;
}
