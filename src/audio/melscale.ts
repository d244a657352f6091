/** Slaney mel scale and filterbank, as librosa and torchaudio (`mel_scale="slaney"`, `norm="slaney"`) define them. */

const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

export function hzToMel(f: number): number {
  return f < MIN_LOG_HZ ? f / F_SP : MIN_LOG_MEL + Math.log(f / MIN_LOG_HZ) / LOG_STEP;
}

export function melToHz(m: number): number {
  return m < MIN_LOG_MEL ? m * F_SP : MIN_LOG_HZ * Math.exp(LOG_STEP * (m - MIN_LOG_MEL));
}

/** The filterbank's nMels + 2 edge frequencies in Hz, equally spaced in mel: filter m rises from [m], peaks at [m + 1], falls to [m + 2]. */
export function slaneyPoints(nMels: number, fMin: number, fMax: number): number[] {
  const mMin = hzToMel(fMin);
  const mMax = hzToMel(fMax);
  return Array.from({ length: nMels + 2 }, (_, i) => melToHz(mMin + ((mMax - mMin) * i) / (nMels + 1)));
}

/** Dense filterbank [nFreqs][nMels] (row-major), area-normalised. */
export function slaneyFilterbank(nFreqs: number, nMels: number, sampleRate: number, fMin: number, fMax: number): Float64Array {
  const allFreqs = Array.from({ length: nFreqs }, (_, i) => ((sampleRate / 2) * i) / (nFreqs - 1));
  const fPts = slaneyPoints(nMels, fMin, fMax);
  const fb = new Float64Array(nFreqs * nMels);
  for (let m = 0; m < nMels; m++) {
    const lower = fPts[m];
    const centre = fPts[m + 1];
    const upper = fPts[m + 2];
    const enorm = 2 / (upper - lower);
    for (let k = 0; k < nFreqs; k++) {
      const f = allFreqs[k];
      const down = (f - lower) / (centre - lower);
      const up = (upper - f) / (upper - centre);
      const w = Math.max(0, Math.min(down, up));
      fb[k * nMels + m] = w * enorm;
    }
  }
  return fb;
}

/** The filterbank as one contiguous band of non-zero weights per mel filter (fast to apply). */
export interface SparseFilterbank {
  nMels: number;
  start: Int32Array;
  weights: Float64Array[];
}

export function sparsify(fb: Float64Array, nFreqs: number, nMels: number): SparseFilterbank {
  const start = new Int32Array(nMels);
  const weights: Float64Array[] = [];
  for (let m = 0; m < nMels; m++) {
    let lo = 0;
    while (lo < nFreqs && fb[lo * nMels + m] === 0) lo++;
    let hi = nFreqs - 1;
    while (hi >= lo && fb[hi * nMels + m] === 0) hi--;
    start[m] = lo;
    const w = new Float64Array(Math.max(0, hi - lo + 1));
    for (let k = lo; k <= hi; k++) w[k - lo] = fb[k * nMels + m];
    weights.push(w);
  }
  return { nMels, start, weights };
}
