/**
 * The error the encoder's RVQ search minimises. Plain RVQ measures it in the
 * latent, where a unit of error above 4 kHz counts as much as one below; at
 * 1.5 and 3 kbit/s the indices then go where the mel has most variance, not
 * where speech carries its intelligibility (the 1/3-octave bands up to ~4 kHz
 * that STOI, and listeners, weigh). Low-rate speech codecs weigh their
 * analysis-by-synthesis error perceptually for the same reason (CELP's
 * weighting filter; Opus going narrowband at low rates).
 *
 * The metric is |W^1/2 V (z - q)|^2: the decoder's linear path V (latent to
 * normalised mel, linear-path.ts) maps the error to mel bands, weighted 1 up to
 * 4 kHz and h above, h by bit rate (HIGH_BAND_WEIGHT_BY_RATE). With M = V^T W V
 * (scaled to trace dim, so that errors keep their size and the rate term's
 * weight its meaning) and its Cholesky factor R (R^T R = M):
 *   z^T M c = (Rz)·(Rc),
 * so the encoder graph scores z against the rows M c (an input of the graph,
 * given per rate), and the search measures entries as R c. Only the encoder changes: codebooks, bitstream and decoder do
 * not, and every decoder reads what it codes. A codec without a linear path
 * (the -lin configs have one) keeps the plain metric.
 */
import { slaneyPoints } from "../audio/melscale.js";
import { FLOWMAC_MEL } from "../audio/mel.js";
import { RvqSearch } from "./rvq-search.js";

/** Mel bands centred above this weigh less in the search (STOI's 1/3-octave bands end at ~4.3 kHz; telephone speech at 3.4). */
export const EMPHASIS_CUTOFF_HZ = 4000;

/**
 * The weight of the bands above the cutoff by bit rate (kbit/s): the fewer the
 * bits, the more they go below 4 kHz. Measured on unseen and seen speakers
 * (docs/results.md, 2026-12-03 fourth session: at 3 kbit/s 0.5 gains on both, 0.3
 * gains more on unseen speakers but costs the seen ones pitch); between and beyond
 * these rates, interpolated in log-rate and held at the ends.
 */
export const HIGH_BAND_WEIGHT_BY_RATE: readonly (readonly [kbps: number, weight: number])[] = [
  [1.5, 0.1],
  [3, 0.5],
  [6, 1],
];

/** The high-band weight for a rate (HIGH_BAND_WEIGHT_BY_RATE, interpolated in log2 of the rate). */
export function highBandWeightFor(kbps: number, table = HIGH_BAND_WEIGHT_BY_RATE): number {
  if (kbps <= table[0][0]) return table[0][1];
  for (let i = 1; i < table.length; i++) {
    const [r1, w1] = table[i];
    if (kbps <= r1) {
      const [r0, w0] = table[i - 1];
      const f = Math.log2(kbps / r0) / Math.log2(r1 / r0);
      return w0 + f * (w1 - w0);
    }
  }
  return table[table.length - 1][1];
}

export interface BandEmphasis {
  /** Mel bands centred at or below this weigh 1. */
  cutoffHz: number;
  /** Weight of the bands above (1: the plain latent error, no emphasis). */
  highWeight: number;
}

/** The codebooks as the search sees them: the encoder scores against `score`, the host search measures `search`. Both [S*K, dim]. */
export interface SearchBooks {
  score: Float32Array;
  search: Float32Array;
}

/** A weight per mel band [nMels] from its centre frequency (the FlowMAC mel's Slaney scale). */
export function bandWeights(nMels: number, e: BandEmphasis): Float64Array {
  const points = slaneyPoints(nMels, FLOWMAC_MEL.fMin, FLOWMAC_MEL.fMax);
  return Float64Array.from({ length: nMels }, (_, b) => (points[b + 1] <= e.cutoffHz ? 1 : e.highWeight));
}

/** R upper-triangular with R^T R = m (m symmetric positive definite) [dim, dim]. */
export function choleskyUpper(m: ArrayLike<number>, dim: number): Float64Array {
  const r = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    let d = m[i * dim + i];
    for (let k = 0; k < i; k++) d -= r[k * dim + i] ** 2;
    if (!(d > 0)) throw new Error("the search metric is not positive definite (the linear path is rank-deficient)");
    const rii = Math.sqrt(d);
    r[i * dim + i] = rii;
    for (let j = i + 1; j < dim; j++) {
      let s = m[i * dim + j];
      for (let k = 0; k < i; k++) s -= r[k * dim + i] * r[k * dim + j];
      r[i * dim + j] = s / rii;
    }
  }
  return r;
}

/**
 * The metric's two parts [2, dim, dim]: V^T W V over the bands up to the cutoff
 * and over those above, so that any high-band weight h gives M = low + h high
 * without V. V: [nMels, dim] row-major.
 */
export function metricParts(v: ArrayLike<number>, nMels: number, dim: number, cutoffHz = EMPHASIS_CUTOFF_HZ): Float32Array {
  const low = bandWeights(nMels, { cutoffHz, highWeight: 0 });
  const parts = new Float32Array(2 * dim * dim);
  for (let b = 0; b < nMels; b++)
    for (let i = 0; i < dim; i++) {
      const a = v[b * dim + i];
      const at = low[b] === 1 ? 0 : dim * dim;
      for (let j = 0; j < dim; j++) parts[at + i * dim + j] += a * v[b * dim + j];
    }
  return parts;
}

/**
 * The codebooks [S*K, dim] as the search sees them with high-band weight h,
 * from the metric's parts (metricParts; empty: a codec without a linear path,
 * which keeps the plain metric, as h = 1 does).
 */
export function searchBooks(codebooks: Float32Array, dim: number, parts: Float32Array, h: number): SearchBooks {
  if (parts.length === 0 || h === 1) return { score: codebooks, search: codebooks };
  if (parts.length !== 2 * dim * dim) throw new Error(`expected a search metric of 2 x ${dim} x ${dim}, got ${parts.length} values`);
  const m = new Float64Array(dim * dim);
  let trace = 0;
  for (let i = 0; i < m.length; i++) m[i] = parts[i] + h * parts[dim * dim + i];
  for (let i = 0; i < dim; i++) trace += m[i * dim + i];
  if (!(trace > 0)) throw new Error("the search metric is zero: the linear path has no weight in the emphasised bands");
  for (let i = 0; i < m.length; i++) m[i] *= dim / trace;
  // search = R c, score = R^T (R c) = M c: two triangular products, half the work of two full ones.
  const r = choleskyUpper(m, dim);
  const search = new Float32Array(codebooks.length);
  const score = new Float32Array(codebooks.length);
  const rc = new Float64Array(dim);
  for (let e = 0; e < codebooks.length; e += dim) {
    for (let i = 0; i < dim; i++) {
      let x = 0;
      for (let j = i; j < dim; j++) x += r[i * dim + j] * codebooks[e + j];
      rc[i] = x;
      search[e + i] = x;
    }
    for (let i = 0; i < dim; i++) {
      let x = 0;
      for (let k = 0; k <= i; k++) x += r[k * dim + i] * rc[k];
      score[e + i] = x;
    }
  }
  return { score, search };
}

/** An engine's searches, one per high-band weight asked for (built on first use: a few ms each). */
export class WeightedSearches {
  private readonly byWeight = new Map<number, { score: Float32Array; rvq: RvqSearch }>();

  /** `codebooks` [S, K, dim] as the model stores them; `parts`: metricParts, or empty for the plain metric. */
  constructor(
    private readonly codebooks: Float32Array,
    private readonly stages: number,
    private readonly K: number,
    private readonly dim: number,
    private readonly parts: Float32Array,
  ) {}

  /** The books to score against and the search to run, for high-band weight h (undefined: the plain metric). */
  get(h = 1): { score: Float32Array; rvq: RvqSearch } {
    const key = this.parts.length === 0 ? 1 : h;
    let s = this.byWeight.get(key);
    if (!s) {
      const books = searchBooks(this.codebooks, this.dim, this.parts, key);
      s = { score: books.score, rvq: new RvqSearch(books.search, this.stages, this.K, this.dim) };
      this.byWeight.set(key, s);
    }
    return s;
  }
}
