/**
 * Frequency warping of a log-mel: training's speaker perturbation (VTLP, Jaitly & Hinton 2013).
 * The spectrum is scaled in frequency by `alpha` (pitch and formants together, as a shorter or
 * longer vocal tract): each band takes the log value found at its centre frequency / alpha,
 * interpolated between the two neighbouring bands. Slaney's area-normalised bands measure a
 * magnitude density, so the interpolated band is close to the band of the scaled spectrum
 * (test/mel-warp.test.ts measures how close). Past the top band the top band's value is kept.
 */
import { FLOWMAC_MEL, type MelConfig } from "./mel.js";
import { hzToMel, melToHz } from "./melscale.js";

/** For each band: the lower source band and the weight of the upper one. */
export interface BandWarp {
  lower: Int32Array;
  upperWeight: Float32Array;
}

export function bandWarp(alpha: number, config: MelConfig = FLOWMAC_MEL): BandWarp {
  const n = config.nMels;
  const mMin = hzToMel(config.fMin);
  const step = (hzToMel(config.fMax) - mMin) / (n + 1);
  const lower = new Int32Array(n);
  const upperWeight = new Float32Array(n);
  for (let m = 0; m < n; m++) {
    const centre = melToHz(mMin + step * (m + 1));
    // The fractional band whose centre is centre / alpha, clamped to the bands there are.
    const pos = Math.min(n - 1, Math.max(0, (hzToMel(centre / alpha) - mMin) / step - 1));
    lower[m] = Math.min(n - 2, Math.floor(pos));
    upperWeight[m] = pos - lower[m];
  }
  return { lower, upperWeight };
}

/** A time-major log-mel [frames, bands] warped band by band (a new array). */
export function warpLogMel(mel: Float32Array, bands: number, w: BandWarp): Float32Array {
  const out = new Float32Array(mel.length);
  for (let t = 0; t < mel.length; t += bands)
    for (let m = 0; m < bands; m++) {
      const lo = mel[t + w.lower[m]];
      out[t + m] = lo + w.upperWeight[m] * (mel[t + w.lower[m] + 1] - lo);
    }
  return out;
}

/** A warp factor drawn log-uniformly from [1 / (1 + maxWarp), 1 + maxWarp]. */
export function drawWarpFactor(maxWarp: number, uniform: number): number {
  return Math.exp((uniform * 2 - 1) * Math.log1p(maxWarp));
}
