/**
 * Linear magnitude spectrum from a log-mel, by non-negative least squares
 * through the Slaney filterbank the front end applies (mel = F^T |X|):
 * min ||F^T s - exp(logMel)||^2 subject to s >= 0, per frame. 128 bands
 * determine 1025 bins only up to the filterbank's null space; NNLS picks a
 * non-negative solution that re-analyses to the given mel, which is what a
 * phase reconstruction needs (librosa's mel_to_stft solves the same problem).
 *
 * Solved with Lee-Seung multiplicative updates, s <- s * (F y) / (F F^T s):
 * every iterate stays non-negative, each costs two sparse products (a bin
 * lies in at most two bands), and they converge monotonically to the NNLS
 * minimiser from any positive start.
 */
import type { MelConfig } from "./mel.js";
import { slaneyFilterbank, sparsify, type SparseFilterbank } from "./melscale.js";

export interface MelInverse {
  readonly bins: number;
  readonly bands: number;
  /** Log-mel [frames, bands] (natural log) -> magnitudes [frames, bins]. */
  magnitude(logMel: Float32Array, frames: number, iterations?: number): Float32Array;
  /**
   * The same updates started from `start` [frames, bins] instead of the band-flat spread: pulls a
   * magnitude with its own fine structure (a refiner's) toward re-analysing to the log-mel, in place.
   */
  project(logMel: Float32Array, start: Float32Array, frames: number, iterations: number): void;
}

/** Default iterations: the re-analysed mel's L1 to the target falls below 0.01 nats on speech by ~30. */
export const NNLS_ITERATIONS = 40;

export function melInverse(config: MelConfig): MelInverse {
  const bins = config.nFft / 2 + 1;
  const bands = config.nMels;
  const fb: SparseFilterbank = sparsify(slaneyFilterbank(bins, bands, config.sampleRate, config.fMin, config.fMax), bins, bands);
  // Triangular filters overlap pairwise, so a bin lies in at most two bands:
  // F as (band, weight) pairs per bin makes both products one pass over the bins.
  const bandA = new Int32Array(bins).fill(-1);
  const bandB = new Int32Array(bins).fill(-1);
  const weightA = new Float64Array(bins);
  const weightB = new Float64Array(bins);
  fb.weights.forEach((w, m) =>
    w.forEach((v, j) => {
      const k = fb.start[m] + j;
      if (bandA[k] < 0) [bandA[k], weightA[k]] = [m, v];
      else if (bandB[k] < 0) [bandB[k], weightB[k]] = [m, v];
      else throw new Error(`mel inverse: bin ${k} lies in more than two bands`);
    }),
  );
  for (let k = 0; k < bins; k++) if (bandB[k] < 0) bandB[k] = bandA[k] < 0 ? 0 : bandA[k]; // weightB 0: reads a valid band
  for (let k = 0; k < bins; k++) if (bandA[k] < 0) bandA[k] = 0; // a bin in no band: both weights 0, stays 0
  // Each band's total weight: the start spreads each band's value evenly over its bins.
  const bandSum = new Float64Array(bands);
  for (let k = 0; k < bins; k++) {
    bandSum[bandA[k]] += weightA[k];
    bandSum[bandB[k]] += weightB[k];
  }
  // Runs of consecutive bins in the same two bands: within one, the bands' sums stay in registers
  // (a scatter-add to memory per bin chains every bin on the last one's store). A band's sum is
  // carried from one run to the next in bin order, so every sum is added up exactly as before.
  const runStart: number[] = [];
  for (let k = 0; k < bins; k++) if (k === 0 || bandA[k] !== bandA[k - 1] || bandB[k] !== bandB[k - 1]) runStart.push(k);
  runStart.push(bins);
  const y = new Float64Array(bands);
  const fy = new Float64Array(bins);
  const s = new Float64Array(bins);
  const mel = new Float64Array(bands);
  const melNext = new Float64Array(bands);
  const floor = config.logFloor;

  /** out[k] = sum_m F[k, m] v[m]. */
  const spread = (v: Float64Array, out: Float64Array) => {
    for (let k = 0; k < bins; k++) out[k] = weightA[k] * v[bandA[k]] + weightB[k] * v[bandB[k]];
  };
  /** out[m] = sum_k F[k, m] v[k]. */
  const gather = (v: Float64Array, out: Float64Array) => {
    out.fill(0);
    for (let k = 0; k < bins; k++) {
      out[bandA[k]] += weightA[k] * v[k];
      out[bandB[k]] += weightB[k] * v[k];
    }
  };

  /** y = the frame's mel target (0 at the floor), fy = F y; false for a silent frame. */
  const target = (logMel: Float32Array, t: number): boolean => {
    let silent = true;
    for (let m = 0; m < bands; m++) {
      const v = Math.exp(logMel[t * bands + m]);
      // Values at the log floor were silence (or below it): aim for zero there.
      y[m] = v <= floor * 1.0001 ? 0 : v;
      if (y[m] !== 0) silent = false;
    }
    if (!silent) spread(y, fy);
    return !silent;
  };
  /** `iterations` multiplicative updates of s toward F^T s = y (fy = F y). */
  const iterate = (iterations: number) => {
    // One pass over the bins per iteration: the update of s and the gather of the next
    // iteration's F^T s (in the same order as gather(), so the same sums).
    let cur = mel;
    let nxt = melNext;
    if (iterations > 0) gather(s, cur);
    for (let it = 0; it < iterations; it++) {
      nxt.fill(0);
      for (let r = 0; r + 1 < runStart.length; r++) {
        const k0 = runStart[r];
        const a = bandA[k0];
        const b = bandB[k0];
        const ca = cur[a];
        const cb = cur[b];
        // a === b: a bin in one band only (its weightB is 0, adding nothing).
        const two = a !== b;
        let sumA = nxt[a];
        let sumB = two ? nxt[b] : 0;
        for (let k = k0; k < runStart[r + 1]; k++) {
          const back = weightA[k] * ca + weightB[k] * cb;
          const v = back > 1e-30 ? (s[k] * fy[k]) / back : 0;
          s[k] = v;
          sumA += weightA[k] * v;
          if (two) sumB += weightB[k] * v;
        }
        nxt[a] = sumA;
        if (two) nxt[b] = sumB;
      }
      [cur, nxt] = [nxt, cur];
    }
  };

  return {
    bins,
    bands,
    magnitude(logMel, frames, iterations = NNLS_ITERATIONS) {
      const out = new Float32Array(frames * bins);
      for (let t = 0; t < frames; t++) {
        // A silent frame (digital silence, a block's padding beyond the signal) stays zero: the start
        // and every update of a zero target are zero, so its iterations are skipped.
        if (!target(logMel, t)) continue;
        for (let m = 0; m < bands; m++) mel[m] = bandSum[m] > 0 ? y[m] / bandSum[m] : 0;
        spread(mel, s);
        iterate(iterations);
        for (let k = 0; k < bins; k++) out[t * bins + k] = s[k];
      }
      return out;
    },
    project(logMel, start, frames, iterations) {
      if (iterations <= 0) return;
      for (let t = 0; t < frames; t++) {
        const row = start.subarray(t * bins, (t + 1) * bins);
        if (!target(logMel, t)) {
          row.fill(0);
          continue;
        }
        for (let k = 0; k < bins; k++) s[k] = row[k];
        iterate(iterations);
        for (let k = 0; k < bins; k++) row[k] = s[k];
      }
    },
  };
}
