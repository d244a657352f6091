import { describe, expect, it } from "vitest";
import { decodePredictive, encodePredictive, fitPredictiveRvq, fitPredictor, residualMetric, type LatentClip } from "../src/model/predictive-rvq.js";
import { Rng } from "../src/nn/rng.js";
import { arClips, arMatrix } from "./ar-clips.js";

const mse = (a: Float32Array, b: Float32Array, frames: number) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / frames;

describe("predictive RVQ", () => {
  const D = 4;
  const a = arMatrix(D);
  const mean = Float64Array.from([1, -2, 0.5, 3]);
  const train = arClips(new Rng(1), D, a, mean, 20, 200);
  const test = arClips(new Rng(2), D, a, mean, 4, 200);

  it("recovers the mean and the predictor of an AR(1) process by least squares, scaled by rho", () => {
    const { mean: m, predictor } = fitPredictor(train, D, 1);
    for (let i = 0; i < D; i++) expect(m[i]).toBeCloseTo(mean[i], 0);
    for (let i = 0; i < D * D; i++) expect(Math.abs(predictor[i] - a[i])).toBeLessThan(0.03);
    const half = fitPredictor(train, D, 0.5).predictor;
    for (let i = 0; i < D * D; i++) expect(half[i]).toBeCloseTo(0.5 * predictor[i], 6);
  });

  it("decodes exactly the latents the closed-loop encoder assumed, with and without per-frame stage counts", () => {
    const q = fitPredictiveRvq(train, D, { stages: 3, codebookSize: 16, rho: 0.9, iterations: 8, refits: 1, rng: new Rng(5) });
    const { z, frames } = test[0];
    const all = encodePredictive(q, z, frames);
    expect(decodePredictive(q, all.codes, frames)).toEqual(all.zq);
    const counts = Uint8Array.from({ length: frames }, (_, t) => 1 + (t % 3));
    const some = encodePredictive(q, z, frames, counts);
    expect(decodePredictive(q, some.codes, frames, counts)).toEqual(some.zq);
    // Stages beyond a frame's count carry index 0 and change nothing.
    for (let t = 0; t < frames; t++) for (let s = counts[t]; s < 3; s++) expect(some.codes[t * 3 + s]).toBe(0);
  });

  it("codes correlated latents closer than the same RVQ fitted without prediction, at every stage count", () => {
    const fit = (rho: number, stages: number) => fitPredictiveRvq(train, D, { stages, codebookSize: 8, rho, iterations: 10, refits: rho > 0 ? 2 : 0, rng: new Rng(7) });
    for (const stages of [1, 2]) {
      const [plain, predictive] = [fit(0, stages), fit(0.9, stages)];
      let e0 = 0;
      let e1 = 0;
      for (const { z, frames } of test) {
        e0 += mse(encodePredictive(plain, z, frames).zq, z, frames);
        e1 += mse(encodePredictive(predictive, z, frames).zq, z, frames);
      }
      expect(e1).toBeLessThan(0.7 * e0);
    }
  });

  it("a weighted metric picks the codes that minimise the weighted error frame by frame", () => {
    const q = fitPredictiveRvq(train, D, { stages: 1, codebookSize: 8, rho: 0.9, iterations: 6, refits: 0, rng: new Rng(9) });
    // M = diag(10, 1, 1, 1): errors in the first dimension cost ten times as much.
    const m = Float64Array.from({ length: D * D }, (_, i) => (i % (D + 1) === 0 ? (i === 0 ? 10 : 1) : 0));
    const metric = residualMetric(q, m);
    const { z, frames } = test[1];
    const { codes, zq } = encodePredictive(q, z, frames, undefined, metric);
    const weighted = (e: number[]) => e.reduce((s, v, i) => s + (i === 0 ? 10 : 1) * v * v, 0);
    for (let t = 1; t < frames; t++) {
      const p = Array.from({ length: D }, (_, i) => zq[t * D + i] - q.codebooks[codes[t] * D + i]);
      const cost = (c: number) => weighted(Array.from({ length: D }, (_, i) => z[t * D + i] - p[i] - q.codebooks[c * D + i]));
      for (let c = 0; c < 8; c++) expect(cost(codes[t])).toBeLessThanOrEqual(cost(c) + 1e-9);
    }
  });

  it("is deterministic: the same latents, fit and seed give the same codebooks and codes", () => {
    const fit = () => fitPredictiveRvq(train, D, { stages: 2, codebookSize: 8, rho: 0.8, iterations: 5, refits: 1, rng: new Rng(11) });
    const [q1, q2] = [fit(), fit()];
    expect(q2.codebooks).toEqual(q1.codebooks);
    expect(encodePredictive(q2, test[0].z, 200).codes).toEqual(encodePredictive(q1, test[0].z, 200).codes);
  });
});
