/**
 * Residual-VQ codebooks by k-means, stage by stage: each stage is fitted to
 * what the stages before it left, and its codewords are subtracted so that the
 * next stage sees exactly the residual the encoder will leave. Shared by the
 * linear codec (fitted from scratch) and by extending a trained codec's RVQ.
 */
import type { Rng } from "../nn/rng.js";
import { kmeans } from "./kmeans.js";

export interface StageFit {
  /** Lloyd iterations the stage ran. */
  iterations: number;
  /** Mean squared residual per frame after the stage. */
  meanSquaredError: number;
  /** How often each entry was chosen on the fitting frames [codebookSize]. */
  counts: Float64Array;
  seconds: number;
}

/**
 * Fits `stages` codebooks of `k` entries to `n` residual vectors [n, dim], which
 * are left as the residual after the last of them. Returns the codebooks
 * [stages, k, dim]; one fork of `rng` seeds each stage.
 */
export function fitResidualStages(residual: Float32Array, n: number, dim: number, k: number, stages: number, rng: Rng, iterations: number, onStage?: (s: number, fit: StageFit) => void): Float32Array {
  const codebooks = new Float32Array(stages * k * dim);
  for (let s = 0; s < stages; s++) {
    const t0 = Date.now();
    const km = kmeans(residual, n, dim, k, rng.fork(), iterations);
    codebooks.set(km.centroids, s * k * dim);
    subtractCodewords(residual, n, dim, km.centroids, km.assignment);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) counts[km.assignment[i]]++;
    onStage?.(s, { iterations: km.iterations, meanSquaredError: km.meanSquaredError, counts, seconds: (Date.now() - t0) / 1000 });
  }
  return codebooks;
}

/** residual[i] -= book[index[i]] for each of the `n` rows [n, dim]. */
export function subtractCodewords(residual: Float32Array, n: number, dim: number, book: Float32Array, index: Uint32Array): void {
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) residual[i * dim + d] -= book[index[i] * dim + d];
}
