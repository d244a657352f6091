import { describe, expect, it } from "vitest";
import { decodePredictive, encodePredictive, fitPredictiveRvq, residualMetric } from "../src/model/predictive-rvq.js";
import { searchPredictive } from "../src/model/predictive-search.js";
import { Rng } from "../src/nn/rng.js";
import { arClips, arMatrix } from "./ar-clips.js";

const mse = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);

describe("predictive RVQ search: beam within frames, delayed decision across them", () => {
  const D = 4;
  const a = arMatrix(D);
  const mean = Float64Array.from([1, -2, 0.5, 3]);
  const train = arClips(new Rng(1), D, a, mean, 20, 200);
  const test = arClips(new Rng(2), D, a, mean, 6, 150);
  const q = fitPredictiveRvq(train, D, { stages: 3, codebookSize: 16, rho: 0.9, iterations: 8, refits: 1, rng: new Rng(5) });

  it("with beam 1 and one path it is the greedy coder", () => {
    for (const { z, frames } of test) expect(searchPredictive(q, z, frames).codes).toEqual(encodePredictive(q, z, frames).codes);
  });

  it("returns the latents the decoder makes from its codes, with counts, a metric and a carried previous latent", () => {
    const { z, frames } = test[1];
    const counts = Uint8Array.from({ length: frames }, (_, t) => 1 + ((t * 7) % 3));
    const m = new Float64Array(D * D);
    for (let i = 0; i < D; i++) m[i * D + i] = 1 + i;
    const metric = residualMetric(q, m);
    const prev = Float32Array.from(mean);
    for (const o of [{ beam: 4 }, { beam: 4, paths: 4 }, { beam: 2, paths: 8 }]) {
      const out = searchPredictive(q, z, frames, { ...o, counts, metric, prev });
      expect(decodePredictive(q, out.codes, frames, counts, prev)).toEqual(out.zq);
      for (let t = 0; t < frames; t++) for (let s = counts[t]; s < 3; s++) expect(out.codes[t * 3 + s]).toBe(0);
    }
  });

  it("leaves less error than greedy coding: the beam within frames, and more so with histories kept across them", () => {
    let greedy = 0;
    let beam = 0;
    let delayed = 0;
    for (const { z, frames } of test) {
      greedy += mse(encodePredictive(q, z, frames).zq, z);
      beam += mse(searchPredictive(q, z, frames, { beam: 8 }).zq, z);
      delayed += mse(searchPredictive(q, z, frames, { beam: 8, paths: 8 }).zq, z);
    }
    expect(beam).toBeLessThan(greedy);
    expect(delayed).toBeLessThan(0.97 * beam);
  });

  it("is deterministic and refuses a silly beam or path count", () => {
    const { z, frames } = test[2];
    expect(searchPredictive(q, z, frames, { beam: 3, paths: 5 }).codes).toEqual(searchPredictive(q, z, frames, { beam: 3, paths: 5 }).codes);
    expect(() => searchPredictive(q, z, frames, { beam: 0 })).toThrow(/beam must be a positive integer/);
    expect(() => searchPredictive(q, z, frames, { paths: 1.5 })).toThrow(/paths must be a positive integer/);
  });
});
