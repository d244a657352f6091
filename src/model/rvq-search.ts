/**
 * The encoder's RVQ search. Greedy RVQ picks at each stage the entry nearest to
 * what the stages before it left, which is not the nearest sum of entries: an
 * entry a little further at stage s can leave a residual the next stages code
 * much better. Beam search keeps the `beam` best partial sums per frame (the
 * M-best search of multi-stage VQ speech coders). Codebooks and bitstream are
 * unchanged, so every decoder reads its codes; beam 1 is greedy RVQ.
 *
 * The search works on scores z·c for every entry of every stage (one matrix
 * product, done by the engine next to the encoder) and on dot products between
 * entries of different stages (computed here once, row by row as needed):
 *   |z - sum_u c_u|^2 = |z|^2 + sum_u (|c_u|^2 - 2 (z·c_u - sum_{v<u} c_v·c_u))
 * so a candidate costs O(stage) additions instead of a dim-long dot product.
 * Deterministic: float64 sums; ties go to the lower (path, entry).
 */

/** Beam width of encoding when none is asked for (docs/results.md: measured on validation speech). */
export const DEFAULT_BEAM = 4;

export interface SearchOptions {
  /** Stages to search and return (default: all the model's); the search is optimised for exactly these. */
  stages?: number;
  /** Partial sums kept per frame (default DEFAULT_BEAM; 1 = greedy). */
  beam?: number;
  /**
   * Stages each frame is searched for [T] (1..stages; default all): a rate-allocated stream's
   * counts, so that each frame's codes are the best its own count can do. Codes beyond are 0.
   */
  frameStages?: ArrayLike<number>;
  /**
   * Entropy-constrained search: each candidate costs its squared error plus
   * `lambda` times the bits its index takes under the stream's code tables
   * (`bits(s, prev)`: a [K] row for stage s given the previous frame's index
   * there, -1 where that frame lacks stage s; null where stage s is coded
   * fixed-length). Chou, Lookabaugh & Gray's ECVQ: an entry a little further
   * that repeats the previous frame's costs far fewer bits.
   */
  rate?: IndexRate;
  /**
   * Read by the engine, not by RvqSearch: the weight of the mel bands above 4 kHz in the
   * error searched (search-metric.ts; default 1, the plain latent error). The engine
   * scores and searches with the codebooks as that metric sees them.
   */
  highBandWeight?: number;
  /**
   * Read by the pipeline: code with the model's predictive RVQ (predictive-rvq.ts) instead, each frame's
   * latent predicted from the last decoded one, searched on the host (greedy; `beam` and `rate` do not apply).
   */
  predictive?: boolean;
}

/** The rate term of an entropy-constrained search (SearchOptions.rate). */
export interface IndexRate {
  lambda: number;
  bits: (s: number, prev: number) => Float32Array | null;
}

export class RvqSearch {
  private readonly norms: Float64Array[];
  /** c_u·c_s by stage pair (u < s): gram[u * S + s] [K, K]; row k holds c_{u,k}·c_{s,j} once views[k] is set. */
  private readonly gram: { rows: Float32Array; views: (Float32Array | undefined)[] }[];

  /** `codebooks` [stages, K, dim], as the model stores them. */
  constructor(
    private readonly codebooks: Float32Array,
    readonly stages: number,
    readonly K: number,
    readonly dim: number,
  ) {
    if (codebooks.length !== stages * K * dim) throw new Error(`expected ${stages * K * dim} codebook values, got ${codebooks.length}`);
    this.norms = Array.from({ length: stages }, (_, s) => {
      const n = new Float64Array(K);
      for (let k = 0; k < K; k++) n[k] = dot(codebooks, (s * K + k) * dim, codebooks, (s * K + k) * dim, dim);
      return n;
    });
    this.gram = new Array(stages * stages);
  }

  /** The row offset of c_{u,k}·c_{s,·} in pair (u, s)'s matrix, computed on first use (most rows are never needed). */
  private gramPair(u: number, s: number): { rows: Float32Array; views: (Float32Array | undefined)[] } {
    return (this.gram[u * this.stages + s] ??= { rows: new Float32Array(this.K * this.K), views: new Array(this.K) });
  }

  /** c_{u,k}·c_{s,j} for every j (u < s): row k of pair (u, s)'s matrix, filled on first use. */
  private gramRow(u: number, s: number, k: number): Float32Array {
    const { K, dim } = this;
    const g = this.gramPair(u, s);
    const done = g.views[k];
    if (done) return done;
    const a = (u * K + k) * dim;
    for (let j = 0; j < K; j++) g.rows[k * K + j] = dot(this.codebooks, a, this.codebooks, (s * K + j) * dim, dim);
    // The view is kept: the search asks for rows millions of times, and a fresh view each time is an allocation.
    return (g.views[k] = g.rows.subarray(k * K, (k + 1) * K));
  }

  /** Scores z·c [T, S*K] of latents z [T, dim], on the host (the engines compute them in their graphs). */
  scores(z: Float32Array, T: number): Float32Array {
    const { K, dim } = this;
    const SK = this.stages * K;
    const out = new Float32Array(T * SK);
    for (let t = 0; t < T; t++) for (let e = 0; e < SK; e++) out[t * SK + e] = dot(z, t * dim, this.codebooks, e * dim, dim);
    return out;
  }

  /**
   * Codes, stage-major [stages, T], from scores [T, S*K] (all the model's S
   * stages scored); also the squared error per frame less |z|^2 (the rate
   * term excluded), and after
   * each stage of the chosen path: prefixError [T, stages] (what rate
   * allocation weighs: the error a frame keeps when it carries fewer stages).
   */
  search(scores: Float32Array, T: number, o: SearchOptions = {}): { codes: Int32Array; error: Float64Array; prefixError: Float64Array } {
    const { K, stages: S } = this;
    const stages = o.stages ?? S;
    const beam = o.beam ?? DEFAULT_BEAM;
    if (!Number.isInteger(stages) || stages < 1 || stages > S) throw new RangeError(`${stages} stages asked of a model with ${S}`);
    if (!Number.isInteger(beam) || beam < 1) throw new RangeError(`beam must be a positive integer, got ${beam}`);
    if (scores.length !== T * S * K) throw new Error(`expected ${T * S * K} scores, got ${scores.length}`);
    if (o.frameStages && o.frameStages.length !== T) throw new Error(`expected ${T} per-frame stage counts, got ${o.frameStages.length}`);
    const codes = new Int32Array(stages * T);
    const error = new Float64Array(T);
    const prefixError = new Float64Array(T * stages);
    const rate = o.rate && o.rate.lambda > 0 ? o.rate : null;
    const frame = this.frameBuffers(beam, stages);
    for (let t = 0; t < T; t++) {
      const here = o.frameStages ? o.frameStages[t] : stages;
      if (!(here >= 1 && here <= stages)) throw new RangeError(`frame ${t}: ${here} stages asked of ${stages}`);
      const before = t === 0 ? 0 : o.frameStages ? o.frameStages[t - 1] : stages;
      this.beamFrame(scores, t * S * K, here, frame, rate ? (s) => rate.bits(s, s < before ? codes[s * T + t - 1] : -1) : null, rate?.lambda ?? 0);
      for (let s = 0; s < here; s++) codes[s * T + t] = frame.path[s];
      this.pathErrors(scores, t, frame.path, here, prefixError.subarray(t * stages, t * stages + here));
      error[t] = prefixError[t * stages + here - 1];
    }
    return { codes, error, prefixError };
  }

  /**
   * The `beam` best codes of one latent's first `stages` stages, best first, from its scores
   * [stages*K or more] (z·c for every entry, as search() takes them): paths [alive, stages] and their
   * squared errors less |z|^2. The predictive RVQ searches frame by frame with it, each
   * frame's target known only once the one before is decoded.
   */
  frameCandidates(scores: Float32Array, stages: number, beam: number): { paths: Int32Array; errors: Float64Array; alive: number } {
    if (!Number.isInteger(stages) || stages < 1 || stages > this.stages) throw new RangeError(`${stages} stages asked of a model with ${this.stages}`);
    if (!Number.isInteger(beam) || beam < 1) throw new RangeError(`beam must be a positive integer, got ${beam}`);
    if (scores.length < stages * this.K) throw new Error(`expected ${stages * this.K} scores, got ${scores.length}`);
    const frame = this.frameBuffers(beam, stages);
    const alive = this.beamFrame(scores, 0, stages, frame, null, 0);
    return { paths: frame.path.slice(0, alive * stages), errors: frame.err.slice(0, alive), alive };
  }

  private frameBuffers(beam: number, stages: number): FrameBeam {
    return {
      beam,
      stages,
      err: new Float64Array(beam),
      path: new Int32Array(beam * stages),
      nextPath: new Int32Array(beam * stages),
      nextErr: new Float64Array(beam),
      candFrom: new Int32Array(beam),
      candK: new Int32Array(beam),
      a: new Float64Array(this.K),
      priced: new Float64Array(this.K),
    };
  }

  /**
   * The beam search of one frame over its first `here` stages (scores from offset sc0); leaves the
   * surviving paths best first in f.path / f.err and returns how many there are. `bits(s)`: the
   * rate row of stage s (IndexRate.bits), or null for none.
   */
  private beamFrame(scores: Float32Array, sc0: number, here: number, f: FrameBeam, bits: ((s: number) => Float32Array | null) | null, lambda: number): number {
    const { K } = this;
    const { beam, stages, candFrom, candK, a, priced } = f;
    f.err[0] = 0;
    let alive = 1;
    for (let s = 0; s < here; s++) {
      const sc = sc0 + s * K;
      let nrm: ArrayLike<number> = this.norms[s];
      const row = bits?.(s);
      if (row) {
        for (let j = 0; j < K; j++) priced[j] = nrm[j] + lambda * row[j];
        nrm = priced;
      }
      const { err, path, nextErr, nextPath } = f;
      let kept = 0;
      for (let p = 0; p < alive; p++) {
        // a_j = z·c_{s,j} - sum_{u<s} c_{u,k_u}·c_{s,j}: the residual of path p dotted with entry j.
        this.residualDots(scores, sc, path, p * stages, s, a);
        for (let j = 0; j < K; j++) {
          const e = err[p] + nrm[j] - 2 * a[j];
          if (kept === beam && !(e < nextErr[beam - 1])) continue;
          // Insertion in ascending order; an equal error stays behind the earlier (path, entry).
          let i = kept < beam ? kept++ : beam - 1;
          while (i > 0 && e < nextErr[i - 1]) {
            nextErr[i] = nextErr[i - 1];
            candFrom[i] = candFrom[i - 1];
            candK[i] = candK[i - 1];
            i--;
          }
          nextErr[i] = e;
          candFrom[i] = p;
          candK[i] = j;
        }
      }
      for (let i = 0; i < kept; i++) {
        nextPath.set(path.subarray(candFrom[i] * stages, candFrom[i] * stages + s), i * stages);
        nextPath[i * stages + s] = candK[i];
      }
      f.path = nextPath;
      f.nextPath = path;
      f.err = nextErr;
      f.nextErr = err;
      alive = kept;
    }
    return alive;
  }

  /**
   * a[j] = scores[sc + j] - sum_{u<s} c_{u,k_u}·c_{s,j} with k_u = path[at + u]. Four stages'
   * rows are summed per pass over a: with 16 stages this loop is the encoder's hot spot, and
   * one load and store of a per row would cost as much as the additions.
   */
  private residualDots(scores: Float32Array, sc: number, path: Int32Array, at: number, s: number, a: Float64Array): void {
    const K = this.K;
    for (let j = 0; j < K; j++) a[j] = scores[sc + j];
    let u = 0;
    for (; u + 4 <= s; u += 4) {
      const r0 = this.gramRow(u, s, path[at + u]);
      const r1 = this.gramRow(u + 1, s, path[at + u + 1]);
      const r2 = this.gramRow(u + 2, s, path[at + u + 2]);
      const r3 = this.gramRow(u + 3, s, path[at + u + 3]);
      for (let j = 0; j < K; j++) a[j] -= r0[j] + r1[j] + r2[j] + r3[j];
    }
    for (; u < s; u++) {
      const r = this.gramRow(u, s, path[at + u]);
      for (let j = 0; j < K; j++) a[j] -= r[j];
    }
  }

  /** The error (less |z|^2) after each stage of `path` for frame t, into out[0 .. stages). */
  private pathErrors(scores: Float32Array, t: number, path: Int32Array, stages: number, out: Float64Array): void {
    const { K, stages: S } = this;
    let e = 0;
    for (let s = 0; s < stages; s++) {
      const j = path[s];
      let a = scores[t * S * K + s * K + j];
      for (let u = 0; u < s; u++) a -= this.gramRow(u, s, path[u])[j];
      e += this.norms[s][j] - 2 * a;
      out[s] = e;
    }
  }
}

/** One frame's beam: the surviving paths [beam, stages] and errors, and scratch reused frame to frame. */
interface FrameBeam {
  beam: number;
  stages: number;
  err: Float64Array;
  path: Int32Array;
  nextPath: Int32Array;
  nextErr: Float64Array;
  candFrom: Int32Array;
  candK: Int32Array;
  a: Float64Array;
  priced: Float64Array;
}

/** x[i..i+n) · y[j..j+n) in float64; four partial sums (the gram rows of a cold encode are ~30 % of its search). */
function dot(x: Float32Array, i: number, y: Float32Array, j: number, n: number): number {
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  let e = 0;
  for (; e + 4 <= n; e += 4) {
    a0 += x[i + e] * y[j + e];
    a1 += x[i + e + 1] * y[j + e + 1];
    a2 += x[i + e + 2] * y[j + e + 2];
    a3 += x[i + e + 3] * y[j + e + 3];
  }
  for (; e < n; e++) a0 += x[i + e] * y[j + e];
  return a0 + a1 + (a2 + a3);
}
