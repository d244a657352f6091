import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MelFrontEnd } from "../src/audio/mel.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { loadModel, readModelDir } from "../src/model/load.js";
import { DEFAULT_DECODE, decodeMel, encodeAudio } from "../src/model/pipeline.js";
import { memoryClip } from "../src/train/clip.js";
import type { ManifestEntry } from "../src/corpus/build.js";
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
  it("are the pipeline's decoding of the whole clip, sliced, plus the crop's gain; alike on both engines", async () => {
    const audio = testSignal(4);
    const mel = new MelFrontEnd().compute(audio);
    const clip = memoryClip({ id: "t", kind: "speech-real" } as ManifestEntry, audio, mel);
    const source = await DecodedMels.open(dir);
    const f0 = 60;
    const F = 16;
    const crop = await source.decode(clip, f0, F, 0, null);
    expect(crop.length).toBe(F * 128);

    // The same codec through the product's pipeline: encode the whole signal, decode the prior (0 flow steps).
    const m = await loadModel(readModelDir(dir));
    const engine = new JaxEngine(m.info, m.codec, m.buffers, m.generator);
    const S = m.info.codec.rvq.stages;
    const { codes, frames } = await encodeAudio(engine, audio);
    const whole = await decodeMel(engine, codes, frames, S, DEFAULT_DECODE);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < crop.length; i++) {
      err = Math.max(err, Math.abs(crop[i] - whole[f0 * 128 + i]));
      scale = Math.max(scale, Math.abs(whole[f0 * 128 + i]));
    }
    expect(err / scale).toBeLessThan(1e-4);
    // ...and it is a decoding, not the input.
    let diff = 0;
    for (let i = 0; i < crop.length; i++) diff += Math.abs(crop[i] - mel.data[f0 * 128 + i]);
    expect(diff / crop.length).toBeGreaterThan(0.01);
    // A gain adds to the log-mel; the clip is decoded once (a later crop is a slice of the kept decoding).
    const louder = await source.decode(clip, f0, F, 0.5, null);
    expect(Math.max(...louder.map((v, i) => Math.abs(v - Math.max(Math.log(1e-5), crop[i] + 0.5))))).toBeLessThan(1e-6);
    // A clip too long to keep whole is decoded in a window around the crop: the same decoding, up to the window's edges' reach.
    const windowed = await (await DecodedMels.open(dir, 1, "onnx", 32)).decode(clip, f0, F, 0, null);
    let werr = 0;
    for (let i = 0; i < crop.length; i++) werr = Math.max(werr, Math.abs(windowed[i] - crop[i]));
    expect(werr / scale).toBeLessThan(1e-3);
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
