import { describe, expect, it } from "vitest";
import { RvqSearch } from "../src/model/rvq-search.js";
import { bandWeights, choleskyUpper, highBandWeightFor, metricParts, searchBooks, WeightedSearches } from "../src/model/search-metric.js";
import { Rng } from "../src/nn/rng.js";

/** Band-weighted squared error |W^1/2 V (z - sum c)|^2, computed in the mel bands directly. */
function melError(v: Float32Array, w: Float64Array, nMels: number, D: number, e: Float64Array): number {
  let sum = 0;
  for (let b = 0; b < nMels; b++) {
    let x = 0;
    for (let d = 0; d < D; d++) x += v[b * D + d] * e[d];
    sum += w[b] * x * x;
  }
  return sum;
}

describe("the encoder's search metric", () => {
  it("weighs the mel bands centred up to the cutoff 1 and the rest highWeight (88 of 128 Slaney bands lie below 4 kHz)", () => {
    const w = bandWeights(128, { cutoffHz: 4000, highWeight: 0.1 });
    expect(w.filter((x) => x === 1).length).toBe(88);
    expect(w.filter((x) => x === 0.1).length).toBe(40);
    expect(w[0]).toBe(1);
    expect(w[127]).toBe(0.1);
  });

  it("R^T R = M for the Cholesky factor of a positive definite M", () => {
    const rng = new Rng(3);
    const D = 5;
    const b = Float64Array.from({ length: D * D }, () => rng.normal());
    const m = new Float64Array(D * D);
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) for (let k = 0; k < D; k++) m[i * D + j] += b[k * D + i] * b[k * D + j] + (i === j && k === 0 ? 0.1 : 0);
    const r = choleskyUpper(m, D);
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++) {
        let s = 0;
        for (let k = 0; k < D; k++) s += r[k * D + i] * r[k * D + j];
        expect(s).toBeCloseTo(m[i * D + j], 10);
        if (j < i) expect(r[i * D + j]).toBe(0);
      }
  });

  it("exhaustive search on the weighted books finds the entries with the least band-weighted mel error", () => {
    const rng = new Rng(5);
    const [S, K, D, nMels, T, h] = [2, 6, 4, 10, 12, 0.1];
    const books = Float32Array.from({ length: S * K * D }, (_, i) => rng.normal() * (i < K * D ? 1 : 0.5));
    const v = Float32Array.from({ length: nMels * D }, () => rng.normal());
    const w = bandWeights(nMels, { cutoffHz: 4000, highWeight: h });
    expect(w.filter((x) => x === 1).length).toBe(7); // 10 Slaney bands over 0-12 kHz, centred at 310 ... 3341, 4599 ... 8717 Hz
    const { score, search } = searchBooks(books, D, metricParts(v, nMels, D), h);
    const r = new RvqSearch(search, S, K, D);
    const z = Float32Array.from({ length: T * D }, () => rng.normal());
    // Scores as the encoder graph computes them: z against the score rows M c.
    const scores = new Float32Array(T * S * K);
    for (let t = 0; t < T; t++) for (let e = 0; e < S * K; e++) for (let d = 0; d < D; d++) scores[t * S * K + e] += z[t * D + d] * score[e * D + d];
    const { codes } = r.search(scores, T, { beam: K * K });
    const err = (t: number, k0: number, k1: number) => melError(v, w, nMels, D, Float64Array.from({ length: D }, (_, d) => z[t * D + d] - books[k0 * D + d] - books[(K + k1) * D + d]));
    const l2 = (t: number, a: number, b: number) => Array.from({ length: D }, (_, d) => (z[t * D + d] - books[a * D + d] - books[(K + b) * D + d]) ** 2).reduce((x, y) => x + y, 0);
    let plainDiffers = 0;
    for (let t = 0; t < T; t++) {
      let best = [0, 0];
      let plain = [0, 0];
      for (let a = 0; a < K; a++)
        for (let b = 0; b < K; b++) {
          if (err(t, a, b) < err(t, best[0], best[1])) best = [a, b];
          if (l2(t, a, b) < l2(t, plain[0], plain[1])) plain = [a, b];
        }
      expect(err(t, codes[t], codes[T + t])).toBeCloseTo(err(t, best[0], best[1]), 4);
      if (plain[0] !== best[0] || plain[1] !== best[1]) plainDiffers++;
    }
    // The plain latent error would pick other entries: the metric matters.
    expect(plainDiffers).toBeGreaterThan(0);
  });

  it("without a linear path, or with the high bands weighed as the rest, the search keeps the plain codebooks", () => {
    const books = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 7);
    expect(searchBooks(books, 4, new Float32Array(0), 0.1)).toEqual({ score: books, search: books });
    const parts = metricParts(Float32Array.from({ length: 10 * 4 }, (_, i) => Math.sin(i)), 10, 4);
    expect(searchBooks(books, 4, parts, 1)).toEqual({ score: books, search: books });
    expect(searchBooks(books, 4, parts, 0.1).score).not.toEqual(books);
    const plain = new WeightedSearches(books, 2, 3, 4, new Float32Array(0));
    expect(plain.get(0.1)).toBe(plain.get(1));
    const weighted = new WeightedSearches(books, 2, 3, 4, parts);
    expect(weighted.get(0.1)).toBe(weighted.get(0.1));
    expect(weighted.get(0.1)).not.toBe(weighted.get(0.3));
  });

  it("the high-band weight follows the rate: the table's values at its rates, log-rate interpolation between, held beyond", () => {
    const table = [
      [1.5, 0.1],
      [3, 0.3],
      [6, 1],
    ] as const;
    expect(highBandWeightFor(1.5, table)).toBe(0.1);
    expect(highBandWeightFor(0.75, table)).toBe(0.1);
    expect(highBandWeightFor(3, table)).toBeCloseTo(0.3, 12);
    expect(highBandWeightFor(Math.sqrt(1.5 * 3), table)).toBeCloseTo(0.2, 12);
    expect(highBandWeightFor(Math.sqrt(18), table)).toBeCloseTo(0.65, 12);
    expect(highBandWeightFor(12, table)).toBe(1);
  });
});
