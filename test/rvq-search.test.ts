import { describe, expect, it } from "vitest";
import { assignNearest } from "../src/model/kmeans.js";
import { subtractCodewords } from "../src/model/rvq-fit.js";
import { RvqSearch } from "../src/model/rvq-search.js";
import { Rng } from "../src/nn/rng.js";

/** Codebooks with shrinking scale per stage, as trained RVQ codebooks have, and latents to code. */
function problem(S: number, K: number, D: number, T: number, seed: number) {
  const rng = new Rng(seed);
  const books = new Float32Array(S * K * D);
  for (let s = 0; s < S; s++) for (let i = 0; i < K * D; i++) books[s * K * D + i] = rng.normal() * 0.7 ** s;
  const z = Float32Array.from({ length: T * D }, () => rng.normal());
  return { books, z };
}

/** Squared error of codes [stages, T] against z, computed directly from the codewords. */
function errors(books: Float32Array, K: number, D: number, z: Float32Array, T: number, codes: Int32Array, stages: number): number[] {
  return Array.from({ length: T }, (_, t) => {
    let e = 0;
    for (let d = 0; d < D; d++) {
      let v = z[t * D + d];
      for (let s = 0; s < stages; s++) v -= books[(s * K + codes[s * T + t]) * D + d];
      e += v * v;
    }
    return e;
  });
}

describe("RVQ search", () => {
  it("beam 1 is greedy RVQ: the nearest entry to each stage's residual (independent k-means assignment)", () => {
    const [S, K, D, T] = [4, 16, 5, 40];
    const { books, z } = problem(S, K, D, T, 1);
    const r = new RvqSearch(books, S, K, D);
    const { codes } = r.search(r.scores(z, T), T, { beam: 1 });
    const res = Float32Array.from(z);
    const index = new Uint32Array(T);
    const dist = new Float64Array(T);
    for (let s = 0; s < S; s++) {
      const book = books.subarray(s * K * D, (s + 1) * K * D);
      assignNearest(res, T, D, book, K, index, dist);
      expect(Array.from(codes.subarray(s * T, (s + 1) * T))).toEqual(Array.from(index));
      subtractCodewords(res, T, D, book, index);
    }
  });

  it("a beam as wide as every path is exhaustive search: it finds the best sum of entries", () => {
    const [S, K, D, T] = [3, 4, 3, 25];
    const { books, z } = problem(S, K, D, T, 2);
    const r = new RvqSearch(books, S, K, D);
    const { codes, error } = r.search(r.scores(z, T), T, { beam: K ** S });
    const got = errors(books, K, D, z, T, codes, S);
    for (let t = 0; t < T; t++) {
      let best = Infinity;
      for (let c = 0; c < K ** S; c++) {
        const one = Int32Array.from([c % K, Math.floor(c / K) % K, Math.floor(c / K / K)]);
        best = Math.min(best, errors(books, K, D, z.subarray(t * D, (t + 1) * D), 1, one, S)[0]);
      }
      expect(got[t]).toBeCloseTo(best, 4);
      // The reported error leaves out |z|^2.
      const z2 = z.subarray(t * D, (t + 1) * D).reduce((a, v) => a + v * v, 0);
      expect(error[t] + z2).toBeCloseTo(got[t], 3);
    }
  });

  it("reports the error after each stage of the chosen path (prefixError), ending at the frame's error", () => {
    const [S, K, D, T] = [5, 16, 6, 30];
    const { books, z } = problem(S, K, D, T, 4);
    const r = new RvqSearch(books, S, K, D);
    const { codes, error, prefixError } = r.search(r.scores(z, T), T, { beam: 4 });
    for (let n = 1; n <= S; n++) {
      const direct = errors(books, K, D, z, T, codes, n); // the first n stages' codewords only
      for (let t = 0; t < T; t++) {
        const z2 = z.subarray(t * D, (t + 1) * D).reduce((a, v) => a + v * v, 0);
        expect(prefixError[t * S + n - 1] + z2).toBeCloseTo(direct[t], 3);
      }
    }
    for (let t = 0; t < T; t++) expect(prefixError[t * S + S - 1]).toBeCloseTo(error[t], 6);
  });

  it("beam search codes closer than greedy on average, and a wider beam no worse", () => {
    const [S, K, D, T] = [6, 32, 8, 200];
    const { books, z } = problem(S, K, D, T, 3);
    const r = new RvqSearch(books, S, K, D);
    const sc = r.scores(z, T);
    const mean = (beam: number) => errors(books, K, D, z, T, r.search(sc, T, { beam }).codes, S).reduce((a, b) => a + b, 0) / T;
    const [g, b4, b16] = [mean(1), mean(4), mean(16)];
    expect(b4).toBeLessThan(0.97 * g);
    expect(b16).toBeLessThanOrEqual(b4 + 1e-9);
  });

  it("searches only the stages asked for, deterministically, and refuses bad requests", () => {
    const [S, K, D, T] = [5, 8, 4, 30];
    const { books, z } = problem(S, K, D, T, 4);
    const r = new RvqSearch(books, S, K, D);
    const sc = r.scores(z, T);
    const a = r.search(sc, T, { stages: 3, beam: 4 }).codes;
    expect(a.length).toBe(3 * T);
    expect(Array.from(new RvqSearch(books, S, K, D).search(sc, T, { stages: 3, beam: 4 }).codes)).toEqual(Array.from(a));
    expect(() => r.search(sc, T, { stages: 6 })).toThrow(/6 stages asked of a model with 5/);
    expect(() => r.search(sc, T, { beam: 0 })).toThrow(/beam/);
  });

  it("entropy-constrained: an exhaustive beam minimises error + lambda * bits given the previous frame's codes; lambda 0 changes nothing", () => {
    const [S, K, D, T] = [3, 4, 3, 30];
    const { books, z } = problem(S, K, D, T, 5);
    const r = new RvqSearch(books, S, K, D);
    const sc = r.scores(z, T);
    // Bits of index j at stage s after index p there: repeats cheap; stage 2 fixed-length (null); no context: its own row.
    const rowOf = (s: number, p: number) => Float32Array.from({ length: K }, (_, j) => (p < 0 ? 2 + 0.1 * j : j === p ? 0.5 : 3 + 0.2 * ((j + s) % K)));
    const bits = (s: number, p: number) => (s === 2 ? null : rowOf(s, p));
    const counts = Uint8Array.from({ length: T }, (_, t) => 1 + (t % 3));
    const lambda = 0.8;
    const { codes, prefixError } = r.search(sc, T, { beam: K ** S, frameStages: counts, rate: { lambda, bits } });
    for (let t = 0; t < T; t++) {
      const n = counts[t];
      let best = Infinity;
      for (let c = 0; c < K ** n; c++) {
        const one = Int32Array.from({ length: n }, (_, s) => Math.floor(c / K ** s) % K);
        let cost = errors(books, K, D, z.subarray(t * D, (t + 1) * D), 1, one, n)[0];
        for (let s = 0; s < Math.min(n, 2); s++) cost += lambda * rowOf(s, t > 0 && counts[t - 1] > s ? codes[s * T + t - 1] : -1)[one[s]];
        best = Math.min(best, cost);
      }
      const chosen = Int32Array.from({ length: n }, (_, s) => codes[s * T + t]);
      let cost = errors(books, K, D, z.subarray(t * D, (t + 1) * D), 1, chosen, n)[0];
      for (let s = 0; s < Math.min(n, 2); s++) cost += lambda * rowOf(s, t > 0 && counts[t - 1] > s ? codes[s * T + t - 1] : -1)[chosen[s]];
      expect(cost).toBeCloseTo(best, 4);
      // The reported errors are the distortion alone.
      const z2 = z.subarray(t * D, (t + 1) * D).reduce((a, v) => a + v * v, 0);
      expect(prefixError[t * S + n - 1] + z2).toBeCloseTo(errors(books, K, D, z.subarray(t * D, (t + 1) * D), 1, chosen, n)[0], 3);
    }
    // The rate term moves choices toward repeats: more of them than the distortion-only search makes.
    const plain = r.search(sc, T, { beam: K ** S, frameStages: counts }).codes;
    const repeats = (c: Int32Array) => Array.from({ length: T - 1 }, (_, i) => i + 1).filter((t) => counts[t - 1] >= 1 && c[t] === c[t - 1]).length;
    expect(repeats(codes)).toBeGreaterThan(repeats(plain));
    expect(Array.from(r.search(sc, T, { beam: 4, rate: { lambda: 0, bits } }).codes)).toEqual(Array.from(r.search(sc, T, { beam: 4 }).codes));
  });
});
