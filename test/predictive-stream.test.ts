import { beforeAll, describe, expect, it } from "vitest";
import { readFmac, writeFmac } from "../src/bitstream/fmac.js";
import { encodeStream } from "../src/model/encode-stream.js";
import type { InferenceEngine } from "../src/model/engine.js";
import { BLOCK, decodeMel, validFrames } from "../src/model/pipeline.js";
import { fitPredictiveRvq } from "../src/model/predictive-rvq.js";
import { predictiveInfoOf, predictiveOf } from "../src/model/predictive-store.js";
import { streamMismatch } from "../src/model/stream-fit.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { normalizeMel } from "../src/audio/stats.js";
import { Rng } from "../src/nn/rng.js";
import { initJax } from "../src/nn/runtime.js";
import { enginePair, testSignal, tinyModel } from "./tiny-model.js";
import { relToPeak } from "./helpers.js";

beforeAll(initJax);

const rel = relToPeak;

/** One block of a signal's normalised mel (frames beyond it silent) and its valid mask. */
function melBlock(e: InferenceEngine, audio: Float32Array): { norm: Float32Array; valid: Float32Array; frames: number } {
  const mel = new MelFrontEnd().compute(audio);
  const n = e.info.codec.nMels;
  const norm = new Float32Array(BLOCK * n);
  norm.set(normalizeMel(mel, e.info.stats).data.subarray(0, Math.min(mel.frames, BLOCK) * n));
  return { norm, valid: validFrames(0, mel.frames), frames: mel.frames };
}

describe("predictive streams (tiny-lin model, a predictive RVQ fitted on its own latents)", () => {
  it("both engines give the same latent and the same prior from a latent; prior() is priorFromLatent of the code sum", async () => {
    const m = tinyModel(6, "vocos-tiny", "tiny-lin");
    const { jax, onnx } = await enginePair(m);
    const { norm, valid } = melBlock(jax, testSignal(4));
    const z = await jax.latent(norm, BLOCK, valid);
    expect(z.length).toBe(BLOCK * 8);
    expect(rel(await onnx.latent(norm, BLOCK, valid), z)).toBeLessThan(1e-4);
    // The codes' sum through the codebooks, as the prior graph looks them up.
    const S = 4;
    const K = 64;
    const D = 8;
    const rng = new Rng(2);
    const codes = Int32Array.from({ length: S * BLOCK }, () => rng.int(K));
    const books = m.buffers.codebooks.map((b) => b.ref.dataSync() as Float32Array);
    const zq = new Float32Array(BLOCK * D);
    for (let s = 0; s < S; s++) for (let t = 0; t < BLOCK; t++) for (let d = 0; d < D; d++) zq[t * D + d] += books[s][codes[s * BLOCK + t] * D + d];
    const fromCodes = await jax.prior(codes, new Float32Array(S * BLOCK).fill(1), BLOCK, valid);
    expect(rel(await jax.priorFromLatent(zq, BLOCK, valid), fromCodes)).toBeLessThan(1e-5);
    expect(rel(await onnx.priorFromLatent(zq, BLOCK, valid), fromCodes)).toBeLessThan(1e-4);
  });

  it("encode -> .fmac -> decode across two blocks: the flag round-trips, both engines agree on codes and mels, the bits are deterministic", async () => {
    const m = tinyModel(7, "vocos-tiny", "tiny-lin");
    const fitting = (await enginePair(m)).jax;
    // Fit on the model's own latents of two signals, test on a third.
    const clips = [];
    for (const seconds of [5, 7]) {
      const { norm, valid, frames } = melBlock(fitting, testSignal(seconds).map((x, i) => x * (1 + 0.3 * Math.sin(i / 7000))));
      const n = Math.min(frames, BLOCK);
      clips.push({ z: (await fitting.latent(norm, BLOCK, valid)).slice(0, n * 8), frames: n });
    }
    const q = fitPredictiveRvq(clips, 8, { stages: 4, codebookSize: 64, rho: 0.8, iterations: 5, refits: 1, rng: new Rng(1) });
    m.info.predictive = predictiveInfoOf(q);
    // Engines made now carry it (the ONNX bundle in its model.json, as a model directory's would).
    const { jax, onnx } = await enginePair(m);
    const audio = testSignal(8.5); // two blocks: the prediction carries across them
    const rate = { stages: 2, allocate: false, predictive: true };
    const s = await encodeStream(jax, audio, rate);
    expect(s.predictive).toBe(true);
    const bytes = writeFmac(s);
    expect(writeFmac(await encodeStream(jax, audio, rate))).toEqual(bytes);
    expect((await encodeStream(onnx, audio, rate)).codes).toEqual(s.codes);
    const back = readFmac(bytes);
    expect(back.predictive).toBe(true);
    expect(streamMismatch(back, m.info)).toBeNull();
    const o = { steps: 0, guidance: 1, temperature: 0.7, seed: 0, predictive: true };
    const melJax = await decodeMel(jax, back.codes, back.frames, back.stages, o);
    expect(rel(await decodeMel(onnx, back.codes, back.frames, back.stages, o), melJax)).toBeLessThan(1e-4);
    // Allocated (version 2 with the flag): an average of 2.5 stages, counts varying, both engines alike.
    const alloc = await encodeStream(jax, audio, { stages: 2.5, allocate: true, predictive: true });
    expect(alloc.frameStages).toBeDefined();
    expect(new Set(alloc.frameStages).size).toBeGreaterThan(1);
    expect((await encodeStream(onnx, audio, { stages: 2.5, allocate: true, predictive: true })).codes).toEqual(alloc.codes);
    const back2 = readFmac(writeFmac(alloc));
    expect(back2.predictive).toBe(true);
    const o2 = { ...o, frameStages: back2.frameStages };
    expect(rel(await decodeMel(onnx, back2.codes, back2.frames, back2.stages, o2), await decodeMel(jax, back2.codes, back2.frames, back2.stages, o2))).toBeLessThan(1e-4);
    // The same codes read as plain RVQ indices decode to something else: the flag matters.
    expect(rel(await decodeMel(jax, back.codes, back.frames, back.stages, { ...o, predictive: false }), melJax)).toBeGreaterThan(1e-3);
  });

  it("a model without a predictive RVQ refuses to code or decode one, in one line", async () => {
    const m = tinyModel(8, "vocos-tiny", "tiny-lin");
    const { jax } = await enginePair(m);
    expect(predictiveOf(m.info)).toBeUndefined();
    await expect(encodeStream(jax, testSignal(1), { stages: 2, allocate: false, predictive: true })).rejects.toThrow(/has no predictive RVQ \(fit one with 'flowmac fit-predictive'\)/);
    const s = { ...(await encodeStream(jax, testSignal(1), { stages: 2, allocate: false })), predictive: true };
    expect(streamMismatch(s, m.info)).toMatch(/predictive flag is set; this model has no predictive RVQ/);
    expect(() => predictiveOf({ ...m.info, predictive: '{"header":{"dim":8,"codebookSize":64,"stages":4},"data":"AAAA"}' }, "x")).toThrow(/x: corrupt predictive RVQ/);
  });
});
