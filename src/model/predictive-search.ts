/**
 * The predictive RVQ's search beyond greedy (predictive-rvq.ts codes greedily):
 * - `beam`: the M-best search within a frame, as the plain RVQ's (rvq-search.ts);
 * - `paths`: delayed decision across frames (the M-algorithm of tree coders). A frame's
 *   decoded latent is the next frame's prediction, so the codes nearest this frame can
 *   leave the next one a worse start. The search keeps the `paths` best decoded
 *   histories by their summed error and decides at the end of the block.
 * The stream and the decoder are the same as greedy coding's: decodePredictive reads these
 * codes, and the returned latents are its output, bit for bit.
 */
import { decodePredictive, predictNext, residualTarget, sumFrame, type PredictiveCodes, type PredictiveRvq, type ResidualMetric } from "./predictive-rvq.js";
import { RvqSearch } from "./rvq-search.js";

export interface PredictiveSearchOptions {
  /** Stages each frame carries [frames] (default: all). */
  counts?: ArrayLike<number>;
  /** The search metric (default: plain squared error). */
  metric?: ResidualMetric;
  /** The decoded latent before frame 0 (a stream coded in pieces), or null at its start. */
  prev?: Float32Array | null;
  /** Partial sums kept per frame (1: greedy within the frame). */
  beam?: number;
  /** Decoded histories kept across frames (1: each frame decided on its own). */
  paths?: number;
}

const searches = new WeakMap<Float32Array, RvqSearch>();
/** One RvqSearch per codebook array (its entry norms and cross products are worth keeping). */
function searchFor(q: PredictiveRvq, books: Float32Array): RvqSearch {
  let s = searches.get(books);
  if (!s) searches.set(books, (s = new RvqSearch(books, q.stages, q.codebookSize, q.dim)));
  return s;
}

/** Codes a clip's latents z [frames, dim] with the predictive RVQ, searched as `o` says. */
export function searchPredictive(q: PredictiveRvq, z: Float32Array, frames: number, o: PredictiveSearchOptions = {}): PredictiveCodes {
  const { dim, stages } = q;
  const beam = o.beam ?? 1;
  const paths = o.paths ?? 1;
  if (!Number.isInteger(beam) || beam < 1) throw new RangeError(`beam must be a positive integer, got ${beam}`);
  if (!Number.isInteger(paths) || paths < 1) throw new RangeError(`paths must be a positive integer, got ${paths}`);
  if (z.length !== frames * dim) throw new Error(`expected ${frames * dim} latent values, got ${z.length}`);
  const rvq = searchFor(q, o.metric ? o.metric.books : q.codebooks);
  const width = Math.max(beam, paths);
  // Each kept history: its last decoded latent and summed error; per frame, each one's parent and codes.
  let last: (Float32Array | null)[] = [o.prev ?? null];
  let sum = [0];
  const parent = new Int32Array(frames * paths);
  const chosen = new Uint16Array(frames * paths * stages);
  const p = new Float64Array(dim);
  const target = new Float32Array(dim);
  type Candidate = { from: number; codes: Int32Array; at: number; total: number; pred: Float64Array };
  for (let t = 0; t < frames; t++) {
    const n = o.counts ? o.counts[t] : stages;
    if (!(n >= 1 && n <= stages)) throw new RangeError(`frame ${t}: ${n} stages asked of ${stages}`);
    const candidates: Candidate[] = [];
    for (let h = 0; h < last.length; h++) {
      predictNext(q, last[h], p);
      residualTarget(z, t, dim, p, o.metric, target);
      let base = 0;
      for (let i = 0; i < dim; i++) base += target[i] * target[i];
      const found = rvq.frameCandidates(rvq.scores(target, 1), n, width);
      const pred = Float64Array.from(p);
      for (let c = 0; c < found.alive; c++) candidates.push({ from: h, codes: found.paths, at: c * n, total: sum[h] + base + found.errors[c], pred });
    }
    // Stable: an equal total keeps the earlier (history, candidate).
    candidates.sort((a, b) => a.total - b.total);
    const kept = candidates.slice(0, paths);
    const nextLast: Float32Array[] = [];
    kept.forEach((c, i) => {
      parent[t * paths + i] = c.from;
      const row = chosen.subarray((t * paths + i) * stages, (t * paths + i + 1) * stages);
      for (let s = 0; s < n; s++) row[s] = c.codes[c.at + s];
      const zq = new Float32Array(dim);
      sumFrame(q, c.pred, row, 0, n, zq, 0);
      nextLast.push(zq);
    });
    last = nextLast;
    sum = kept.map((c) => c.total);
  }
  // Trace the best history back; the decoder's own loop then gives its latents to the bit.
  const codes = new Uint16Array(frames * stages);
  for (let t = frames - 1, h = 0; t >= 0; t--) {
    codes.set(chosen.subarray((t * paths + h) * stages, (t * paths + h + 1) * stages), t * stages);
    h = parent[t * paths + h];
  }
  return { codes, zq: decodePredictive(q, codes, frames, o.counts, o.prev ?? null) };
}
