/**
 * Residual vector quantiser: project to a small dimension, then S stages each
 * quantising the residual of the previous ones with a codebook of K entries.
 * Codebooks learn by exponential moving averages (as SoundStream/EnCodec),
 * start from k-means on data, and restart codes that fall out of use.
 */
import type { Rng } from "../nn/rng.js";
import { normalParam } from "../nn/init.js";
import { mm } from "../nn/layers.js";
import { jit, lax, np, type JArray } from "../nn/runtime.js";
import type { RvqConfig } from "./config.js";

/** Trained by EMA, not by gradient: codebooks and their running statistics. */
export type RvqBuffers = { codebooks: JArray[]; emaCount: JArray[]; emaSum: JArray[] };

/** The projections into and out of the code space belong to the encoder and decoder stacks. */
export function initRvq(rng: Rng, c: RvqConfig): RvqBuffers {
  const codebooks = Array.from({ length: c.stages }, () => normalParam(rng, [c.codebookSize, c.dim], 1));
  return {
    emaSum: codebooks.map((cb) => cb.ref),
    codebooks,
    emaCount: Array.from({ length: c.stages }, () => np.ones([c.codebookSize])),
  };
}

/**
 * Share of training frames that count for stage s in the EMA update: quantizer
 * dropout keeps all stages with probability 1 - p, else a uniform number of
 * stages from minStages to S.
 */
export function stageActiveShare(rvq: RvqConfig, s: number): number {
  const { stages: S, minStages, dropoutProb: p } = rvq;
  const kept = S - Math.max(minStages, s + 1) + 1; // draws n in [minStages, S] with n > s
  return 1 - p + (p * kept) / (S - minStages + 1);
}

/**
 * EMA statistics of one stage's codebook [K, D] in the steady state of training
 * batches of `batchFrames` frames, from how often each entry was used on `frames`
 * fitting frames: count = expected weighted use per batch (quantizer dropout
 * included), floored at 1 (a fresh codebook's count, so a rare code is not
 * restarted at step 0); sum = codeword x count. The first EMA updates then move
 * the codebook by (1 - decay) of a batch's worth, as later in training.
 */
export function steadyEmaStats(rvq: RvqConfig, stage: number, book: Float32Array, uses: ArrayLike<number>, frames: number, batchFrames: number): { count: Float32Array; sum: Float32Array } {
  const D = book.length / uses.length;
  const perBatch = (batchFrames * stageActiveShare(rvq, stage)) / frames;
  const count = Float32Array.from(uses, (u) => Math.max(1, u * perBatch));
  const sum = Float32Array.from(book, (v, i) => v * count[Math.floor(i / D)]);
  return { count, sum };
}

/** The codebooks on the host, stage after stage [S, K, D] (the host-side RVQ search's input, rvq-search.ts). */
export function hostCodebooks(b: { codebooks: JArray[] }): Float32Array {
  const stages = b.codebooks.map((cb) => cb.ref.dataSync() as Float32Array);
  const out = new Float32Array(stages.reduce((n, s) => n + s.length, 0));
  let at = 0;
  for (const s of stages) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

/** Nearest codebook entry of each row of r [N, D] in cb [K, D]: int32 [N]. */
export function nearestCode(r: JArray, cb: JArray): JArray {
  const d = np
    .square(cb.ref)
    .sum(1)
    .reshape([1, -1])
    .sub(mm(r, cb.ref.transpose()).mul(2)); // |r|^2 is constant per row: left out
  return np.argmin(d, 1);
}

export interface QuantizeOut {
  /** Quantised latent (straight-through) [B, T, D]. */
  zq: JArray;
  /** Codes [S, N] (N = B*T), int32. */
  codes: JArray;
  /** Stage inputs (residuals) [S, N, D], for the EMA update. */
  residuals: JArray;
  /** Commitment loss, averaged over active stages. */
  commit: JArray;
}

/**
 * Quantises z [B, T, D]. `stageMask` [S, B] (1 = stage active for that example)
 * implements quantizer dropout; null uses all stages.
 */
export function quantize(b: RvqBuffers, z: JArray, stageMask: JArray | null): QuantizeOut {
  const [B, T, D] = z.shape;
  const S = b.codebooks.length;
  const N = B * T;
  let r = lax.stopGradient(z.ref).reshape([N, D]);
  let qsum: JArray | null = null;
  let commit: JArray | null = null;
  const codes: JArray[] = [];
  const residuals: JArray[] = [];
  const zf = z.ref.reshape([N, D]);
  for (let s = 0; s < S; s++) {
    const idx = nearestCode(r.ref, b.codebooks[s]);
    const q = np.take(b.codebooks[s].ref, idx.ref, 0); // [N, D]
    // Per-row weight of this stage: frames of an example share its mask.
    const w = stageMask ? np.broadcastTo(stageMask.ref.slice(s).reshape([B, 1, 1]), [B, T, 1]).reshape([N, 1]) : null;
    // Commitment: pull the encoder output towards what the stages before it left to code.
    const target = (qsum ? qsum.ref : np.zeros([N, D])).add(q.ref);
    let c = np.square(zf.ref.sub(lax.stopGradient(target)));
    if (w) c = c.mul(w.ref);
    commit = commit ? commit.add(c.mean()) : c.mean();
    const qa = w ? q.mul(w) : q;
    qsum = qsum ? qsum.add(qa) : qa;
    codes.push(idx);
    residuals.push(r.ref);
    r = r.sub(np.take(b.codebooks[s].ref, codes[s].ref, 0));
  }
  r.dispose();
  // Straight-through: the forward value is the quantised sum, the gradient is the identity.
  const zq = zf.ref.add(lax.stopGradient(qsum!.sub(zf))).reshape([B, T, D]);
  z.dispose();
  return { zq, codes: np.stack(codes, 0), residuals: np.stack(residuals, 0), commit: commit!.mul(1 / S) };
}

/**
 * EMA codebook update from one batch's codes [S, N], residuals [S, N, D] and
 * stage weights [S, N] (0 where quantizer dropout switched the stage off).
 */
export const emaCodebookUpdate = jit(
  (b: RvqBuffers, codes: JArray, residuals: JArray, weights: JArray, decay: JArray): RvqBuffers => {
    const S = b.codebooks.length;
    const K = b.codebooks[0].shape[0];
    const out: RvqBuffers = { codebooks: [], emaCount: [], emaSum: [] };
    for (let s = 0; s < S; s++) {
      const onehot = np.equal(codes.ref.slice(s).reshape([-1, 1]), np.arange(K).reshape([1, K])).astype(np.float32).mul(weights.ref.slice(s).reshape([-1, 1]));
      const counts = onehot.ref.sum(0);
      const sums = mm(onehot.transpose(), residuals.ref.slice(s));
      const cnt = b.emaCount[s].mul(decay.ref).add(counts.mul(np.ones([]).sub(decay.ref)));
      const sm = b.emaSum[s].mul(decay.ref).add(sums.mul(np.ones([]).sub(decay.ref)));
      // Laplace smoothing keeps rarely used codes from dividing by ~0.
      const n = cnt.ref.sum();
      const smoothed = cnt.ref.add(1e-5).div(n.ref.add(K * 1e-5)).mul(n);
      b.codebooks[s].dispose();
      out.codebooks.push(sm.ref.div(smoothed.reshape([K, 1])));
      out.emaCount.push(cnt);
      out.emaSum.push(sm);
    }
    codes.dispose();
    residuals.dispose();
    weights.dispose();
    decay.dispose();
    return out;
  },
) as unknown as (b: RvqBuffers, codes: JArray, residuals: JArray, weights: JArray, decay: JArray) => RvqBuffers;

/** Perplexity exp(H) of each stage's code distribution (K = perfect use, 1 = collapse). */
export function codePerplexity(codes: Int32Array, stages: number, n: number, K: number, weights?: Float32Array): number[] {
  const out: number[] = [];
  for (let s = 0; s < stages; s++) {
    const counts = new Float64Array(K);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = weights ? weights[s * n + i] : 1;
      counts[codes[s * n + i]] += w;
      total += w;
    }
    let h = 0;
    for (const c of counts) if (c > 0) h -= (c / total) * Math.log(c / total);
    out.push(total > 0 ? Math.exp(h) : 0);
  }
  return out;
}

/** Plain k-means (k-means++ seeding) on host vectors [N, D], for codebook initialisation. */
export function kmeans(data: Float32Array, n: number, d: number, k: number, rng: Rng, iters = 10): Float32Array {
  const cent = new Float32Array(k * d);
  const dist2 = (a: number, cb: Float32Array, c: number) => {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = data[a * d + j] - cb[c * d + j];
      s += t * t;
    }
    return s;
  };
  // k-means++ seeding
  const first = rng.int(n);
  cent.set(data.subarray(first * d, first * d + d), 0);
  const best = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      best[i] = Math.min(best[i], dist2(i, cent, c - 1));
      total += best[i];
    }
    let r = rng.uniform() * total;
    let pick = n - 1;
    for (let i = 0; i < n; i++) {
      r -= best[i];
      if (r <= 0) {
        pick = i;
        break;
      }
    }
    cent.set(data.subarray(pick * d, pick * d + d), c * d);
  }
  const assign = new Int32Array(n);
  for (let it = 0; it < iters; it++) {
    for (let i = 0; i < n; i++) {
      let bi = 0;
      let bd = Infinity;
      for (let c = 0; c < k; c++) {
        const dd = dist2(i, cent, c);
        if (dd < bd) {
          bd = dd;
          bi = c;
        }
      }
      assign[i] = bi;
    }
    const sums = new Float64Array(k * d);
    const counts = new Float64Array(k);
    for (let i = 0; i < n; i++) {
      counts[assign[i]]++;
      for (let j = 0; j < d; j++) sums[assign[i] * d + j] += data[i * d + j];
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) {
        const p = rng.int(n);
        cent.set(data.subarray(p * d, p * d + d), c * d);
      } else for (let j = 0; j < d; j++) cent[c * d + j] = sums[c * d + j] / counts[c];
    }
  }
  return cent;
}
