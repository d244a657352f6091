import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MelFrontEnd } from "../src/audio/mel.js";
import { normalizeMel } from "../src/audio/stats.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { loadModel, readModelDir } from "../src/model/load.js";
import { decodeMel } from "../src/model/pipeline.js";
import { initJax } from "../src/nn/runtime.js";
import { DecodedMels, rateStages } from "../src/train/decoded-mels.js";
import { Rng } from "../src/nn/rng.js";
import { testSignal, writeTinyModelDir } from "./tiny-model.js";

let dir: string;
beforeAll(async () => {
  await initJax();
  dir = await writeTinyModelDir(join(mkdtempSync(join(tmpdir(), "flowmac-decoded-")), "model"));
});

describe("decoded mels for vocoder fine-tuning", () => {
  it("equal the pipeline's prior mel on the same frames (the tiny codec's receptive field fits the context)", async () => {
    const mel = new MelFrontEnd().compute(testSignal(4));
    const source = await DecodedMels.open(dir);
    const f0 = 60;
    const F = 16;
    const crop = await source.decode((s, n) => mel.data.slice(s * 128, (s + n) * 128), mel.frames, f0, F, null);
    expect(crop.length).toBe(F * 128);
    expect(crop.every(Number.isFinite)).toBe(true);

    // The same codec through the pipeline: encode the whole signal, decode the prior (0 flow steps).
    const m = await loadModel(readModelDir(dir));
    const engine = new JaxEngine(m.info, m.codec, m.buffers, m.generator);
    const norm = normalizeMel(mel, m.info.stats).data;
    const S = m.info.codec.rvq.stages;
    const codesSt = await engine.encode(norm, mel.frames); // [S, T]
    const codes = new Uint16Array(mel.frames * S);
    for (let t = 0; t < mel.frames; t++) for (let s = 0; s < S; s++) codes[t * S + s] = codesSt[s * mel.frames + t];
    const whole = await decodeMel(engine, codes, mel.frames, S, { steps: 0, guidance: 0, temperature: 0, seed: 0 });
    let err = 0;
    let scale = 0;
    for (let i = 0; i < crop.length; i++) {
      err = Math.max(err, Math.abs(crop[i] - whole[f0 * 128 + i]));
      scale = Math.max(scale, Math.abs(whole[f0 * 128 + i]));
    }
    expect(err / scale).toBeLessThan(1e-4);
    // The ONNX engine (the default) and jax-js decode the crop alike.
    const viaJax = await (await DecodedMels.open(dir, 1, "jax")).decode((s, n) => mel.data.slice(s * 128, (s + n) * 128), mel.frames, f0, F, null);
    let engines = 0;
    for (let i = 0; i < crop.length; i++) engines = Math.max(engines, Math.abs(crop[i] - viaJax[i]));
    expect(engines / scale).toBeLessThan(1e-4);
    // ...and it is a decoding, not the input.
    let diff = 0;
    for (let i = 0; i < crop.length; i++) diff += Math.abs(crop[i] - mel.data[f0 * 128 + i]);
    expect(diff / crop.length).toBeGreaterThan(0.01);
  });
});

describe("which crops are decoded, at which rates", () => {
  it("draws the product's rates 1:2:1 among those the codec has, else its top stage count", () => {
    expect(rateStages(16, 256)).toEqual({ stages: [4, 8, 16], cumulative: [0.25, 0.75, 1] });
    const eight = rateStages(8, 256);
    expect(eight.stages).toEqual([4, 8]);
    expect(eight.cumulative[0]).toBeCloseTo(1 / 3, 12);
    expect(rateStages(2, 16)).toEqual({ stages: [2], cumulative: [1] });
  });
  it("decodes the given share of training crops, at the drawn rates", async () => {
    const source = await DecodedMels.open(dir, 0.3);
    const rng = new Rng(9);
    let picked = 0;
    for (let i = 0; i < 2000; i++) if (source.pick(rng)) picked++;
    expect(picked / 2000).toBeGreaterThan(0.26);
    expect(picked / 2000).toBeLessThan(0.34);
    await expect(DecodedMels.open(dir, 0)).rejects.toThrow(/not in \(0, 1\]/);
  });
});
