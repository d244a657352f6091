/**
 * Predictive residual VQ: each frame's latent is predicted from the last decoded
 * one and only the prediction error is vector-quantised (closed-loop DPCM with a
 * residual VQ, as speech coders code their spectral envelopes frame to frame):
 *   p_t  = mu + A (zq_{t-1} - mu)        (p_0 = mu)
 *   zq_t = p_t + sum_s book_s[code_{t,s}]
 * The mel frames overlap by 75 % (window 2048, hop 512), so consecutive latents
 * are close: on the shipped codec's latents a linear predictor leaves a fifth of
 * the variance (6.8 dB), and the RVQ's bits go to what is new. The encoder
 * predicts from what the decoder will have (closed loop), so errors do not build up.
 *
 * Everything is closed form: A by least squares on training latents (shrunk by
 * rho < 1, which limits how far one frame's error carries), the codebooks by
 * k-means on the residuals, first open loop, then refitted on the residuals the
 * closed loop leaves. Deterministic: float64 sums, ties to the lower index.
 */
import type { Rng } from "../nn/rng.js";
import { assignNearest } from "./kmeans.js";
import { fitResidualStages } from "./rvq-fit.js";
import { choleskyUpper } from "./search-metric.js";

export interface PredictiveRvq {
  dim: number;
  codebookSize: number;
  stages: number;
  /** The latents' mean [dim]. */
  mean: Float32Array;
  /** The predictor A [dim, dim], row-major, rho included: p = mean + A (prev - mean). */
  predictor: Float32Array;
  /** Codebooks of the prediction residual [stages, codebookSize, dim]. */
  codebooks: Float32Array;
}

/** Latents of one clip [frames, dim], in time order: prediction runs within a clip. */
export interface LatentClip {
  z: Float32Array;
  frames: number;
}

/**
 * The mean and the least-squares predictor of z_t - mean from z_{t-1} - mean over
 * the clips' consecutive frames, scaled by `rho`; `ridge` (relative to the mean
 * variance per dimension) keeps the normal equations well posed.
 */
export function fitPredictor(clips: LatentClip[], dim: number, rho = 1, ridge = 1e-4): { mean: Float32Array; predictor: Float32Array } {
  const total = clips.reduce((s, c) => s + c.frames, 0);
  if (total === 0) throw new Error("no latent frames to fit a predictor on");
  for (const c of clips) if (c.z.length !== c.frames * dim) throw new Error(`a clip of ${c.frames} frames holds ${c.z.length} latent values, not ${c.frames} x ${dim}`);
  const mu = new Float64Array(dim);
  for (const { z, frames } of clips) for (let i = 0; i < frames * dim; i++) mu[i % dim] += z[i];
  for (let i = 0; i < dim; i++) mu[i] /= total;
  const xx = new Float64Array(dim * dim);
  const yx = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (const { z, frames } of clips)
    for (let t = 1; t < frames; t++) {
      for (let j = 0; j < dim; j++) x[j] = z[(t - 1) * dim + j] - mu[j];
      for (let i = 0; i < dim; i++) {
        const xi = x[i];
        const yi = z[t * dim + i] - mu[i];
        for (let j = 0; j < dim; j++) {
          xx[i * dim + j] += xi * x[j];
          yx[i * dim + j] += yi * x[j];
        }
      }
    }
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += xx[i * dim + i];
  for (let i = 0; i < dim; i++) xx[i * dim + i] += (ridge * trace) / dim + 1e-12;
  // Row r of A solves xx a = yx[r, :] (xx symmetric): xx = U^T U, then two triangular solves.
  const u = choleskyUpper(xx, dim);
  const a = new Float32Array(dim * dim);
  const w = new Float64Array(dim);
  const row = new Float64Array(dim);
  for (let r = 0; r < dim; r++) {
    for (let i = 0; i < dim; i++) {
      let s = yx[r * dim + i];
      for (let k = 0; k < i; k++) s -= u[k * dim + i] * w[k];
      w[i] = s / u[i * dim + i];
    }
    for (let i = dim - 1; i >= 0; i--) {
      let s = w[i];
      for (let k = i + 1; k < dim; k++) s -= u[i * dim + k] * row[k];
      row[i] = s / u[i * dim + i];
    }
    for (let i = 0; i < dim; i++) a[r * dim + i] = rho * row[i];
  }
  return { mean: Float32Array.from(mu), predictor: a };
}

/** p = mean + A (prev - mean), or the mean for the first frame (prev null). */
export function predictNext(q: Pick<PredictiveRvq, "dim" | "mean" | "predictor">, prev: Float32Array | null, out: Float64Array): void {
  const { dim, mean, predictor } = q;
  for (let i = 0; i < dim; i++) {
    let s = 0;
    if (prev) for (let j = 0; j < dim; j++) s += predictor[i * dim + j] * (prev[j] - mean[j]);
    out[i] = mean[i] + s;
  }
}

/**
 * A search metric for the residual: upper Cholesky factor R of M [dim, dim] (the
 * error e counts as |R e|^2; search-metric.ts builds M from the decoder's linear
 * path and the band weights), with the codebooks premultiplied by R.
 */
export interface ResidualMetric {
  r: Float64Array;
  books: Float32Array;
}

/** The metric |R e|^2 for M = R^T R, with `q`'s codebooks seen through it. */
export function residualMetric(q: PredictiveRvq, m: ArrayLike<number>): ResidualMetric {
  const { dim } = q;
  const r = choleskyUpper(m, dim);
  const books = new Float32Array(q.codebooks.length);
  for (let e = 0; e < books.length; e += dim)
    for (let i = 0; i < dim; i++) {
      let x = 0;
      for (let j = i; j < dim; j++) x += r[i * dim + j] * q.codebooks[e + j];
      books[e + i] = x;
    }
  return { r, books };
}

export interface PredictiveCodes {
  /** Indices, frame-major [frames, stages] (0 beyond a frame's count). */
  codes: Uint16Array;
  /** The decoded latents [frames, dim]: what decodePredictive gives for these codes. */
  zq: Float32Array;
}

/**
 * Closed-loop coding of a clip's latents z [frames, dim]: frame t carries
 * counts[t] stages (or all, with no counts), each chosen greedily under the
 * metric (plain squared error without one). `prev`: the decoded latent before
 * frame 0 (a stream coded in pieces; null at its start).
 */
export function encodePredictive(q: PredictiveRvq, z: Float32Array, frames: number, counts?: ArrayLike<number>, metric?: ResidualMetric, prev: Float32Array | null = null): PredictiveCodes {
  const { dim, codebookSize: k, stages } = q;
  const codes = new Uint16Array(frames * stages);
  const zq = new Float32Array(frames * dim);
  const p = new Float64Array(dim);
  const target = new Float32Array(dim);
  const books = metric ? metric.books : q.codebooks;
  for (let t = 0; t < frames; t++) {
    predictNext(q, t > 0 ? zq.subarray((t - 1) * dim, t * dim) : prev, p);
    residualTarget(z, t, dim, p, metric, target);
    const n = counts ? counts[t] : stages;
    greedyStages(target, books, k, dim, n, (s, c) => (codes[t * stages + s] = c));
    reconstructFrame(q, p, codes, t, n, zq);
  }
  return { codes, zq };
}

/** Frame t's residual z_t - p_t into `target`, through the metric where there is one (the search then runs on R r and R c). */
export function residualTarget(z: Float32Array, t: number, dim: number, p: Float64Array, metric: ResidualMetric | undefined, target: Float32Array): void {
  for (let i = 0; i < dim; i++) {
    if (!metric) {
      target[i] = z[t * dim + i] - p[i];
      continue;
    }
    let x = 0;
    for (let j = i; j < dim; j++) x += metric.r[i * dim + j] * (z[t * dim + j] - p[j]);
    target[i] = x;
  }
}

const nearest = new Uint32Array(1);
const nearestDist = new Float64Array(1);
/** Greedy RVQ of `target` over the first n stages of `books` [S, k, dim], in place (left as the residual); `chosen(s, c)` after each stage. */
function greedyStages(target: Float32Array, books: Float32Array, k: number, dim: number, n: number, chosen: (s: number, c: number) => void): void {
  for (let s = 0; s < n; s++) {
    const book = books.subarray(s * k * dim, (s + 1) * k * dim);
    nearest[0] = 0;
    assignNearest(target, 1, dim, book, k, nearest, nearestDist);
    const c = nearest[0];
    for (let i = 0; i < dim; i++) target[i] -= book[c * dim + i];
    chosen(s, c);
  }
}

/** zq_t = p_t + frame t's codewords, summed in float64 in one order: encoder and decoder must agree to the bit. */
function reconstructFrame(q: PredictiveRvq, p: Float64Array, codes: Uint16Array, t: number, n: number, zq: Float32Array): void {
  sumFrame(q, p, codes, t * q.stages, n, zq, t * q.dim);
}

/** out[outAt ..] = p + the codewords codes[at .. at + n) of stages 0 .. n-1: the one way every coder sums a frame. */
export function sumFrame(q: PredictiveRvq, p: Float64Array, codes: ArrayLike<number>, at: number, n: number, out: Float32Array, outAt: number): void {
  const { dim, codebookSize: k } = q;
  for (let i = 0; i < dim; i++) {
    let x = p[i];
    for (let s = 0; s < n; s++) x += q.codebooks[(s * k + codes[at + s]) * dim + i];
    out[outAt + i] = x;
  }
}

/**
 * The error each stage count would leave, frame by frame [frames, stages] (greedy, under the
 * metric), predicting from the true previous latent (open loop): what rate allocation weighs
 * before the counts, and so the closed loop's predictions, are known. `prev`: the true latent
 * before frame 0, or null.
 */
export function openLoopErrors(q: PredictiveRvq, z: Float32Array, frames: number, metric?: ResidualMetric, prev: Float32Array | null = null): Float32Array {
  const { dim, codebookSize: k, stages } = q;
  const out = new Float32Array(frames * stages);
  const p = new Float64Array(dim);
  const target = new Float32Array(dim);
  const books = metric ? metric.books : q.codebooks;
  for (let t = 0; t < frames; t++) {
    predictNext(q, t > 0 ? z.subarray((t - 1) * dim, t * dim) : prev, p);
    residualTarget(z, t, dim, p, metric, target);
    greedyStages(target, books, k, dim, stages, (s) => {
      let e = 0;
      for (let i = 0; i < dim; i++) e += target[i] * target[i];
      out[t * stages + s] = e;
    });
  }
  return out;
}

/** The latents [frames, dim] a decoder makes from predictive codes [frames, stages]; `prev` as encodePredictive's. */
export function decodePredictive(q: PredictiveRvq, codes: Uint16Array, frames: number, counts?: ArrayLike<number>, prev: Float32Array | null = null): Float32Array {
  const { dim, stages } = q;
  if (codes.length !== frames * stages) throw new Error(`expected ${frames * stages} codes, got ${codes.length}`);
  const zq = new Float32Array(frames * dim);
  const p = new Float64Array(dim);
  for (let t = 0; t < frames; t++) {
    predictNext(q, t > 0 ? zq.subarray((t - 1) * dim, t * dim) : prev, p);
    reconstructFrame(q, p, codes, t, counts ? counts[t] : stages, zq);
  }
  return zq;
}

export interface PredictiveFitOptions {
  stages: number;
  codebookSize: number;
  /** The predictor's shrink (0: no prediction, the plain RVQ fitted the same way). */
  rho: number;
  iterations: number;
  /** Closed-loop refits after the open-loop fit. */
  refits: number;
  rng: Rng;
  onRefit?: (refit: number, meanSquaredError: number) => void;
}

/** Fits a predictive RVQ to training latents: predictor, then codebooks open loop, then closed loop. */
export function fitPredictiveRvq(clips: LatentClip[], dim: number, o: PredictiveFitOptions): PredictiveRvq {
  const { mean, predictor } = fitPredictor(clips, dim, o.rho);
  const total = clips.reduce((s, c) => s + c.frames, 0);
  const residuals = new Float32Array(total * dim);
  const p = new Float64Array(dim);
  let off = 0;
  for (const { z, frames } of clips)
    for (let t = 0; t < frames; t++, off++) {
      predictNext({ dim, mean, predictor }, t > 0 ? z.subarray((t - 1) * dim, t * dim) : null, p);
      for (let i = 0; i < dim; i++) residuals[off * dim + i] = z[t * dim + i] - p[i];
    }
  const q: PredictiveRvq = { dim, codebookSize: o.codebookSize, stages: o.stages, mean, predictor, codebooks: fitResidualStages(residuals, total, dim, o.codebookSize, o.stages, o.rng.fork(), o.iterations) };
  for (let refit = 1; refit <= o.refits; refit++) {
    // The residuals the closed loop actually quantises: predicted from decoded, not true, latents.
    off = 0;
    let mse = 0;
    for (const { z, frames } of clips) {
      const { zq } = encodePredictive(q, z, frames);
      for (let t = 0; t < frames; t++, off++) {
        predictNext(q, t > 0 ? zq.subarray((t - 1) * dim, t * dim) : null, p);
        for (let i = 0; i < dim; i++) {
          residuals[off * dim + i] = z[t * dim + i] - p[i];
          mse += (z[t * dim + i] - zq[t * dim + i]) ** 2;
        }
      }
    }
    o.onRefit?.(refit, mse / total);
    q.codebooks = fitResidualStages(residuals, total, dim, o.codebookSize, o.stages, o.rng.fork(), o.iterations);
  }
  return q;
}
