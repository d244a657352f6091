import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { initJax, np } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";
import { initTransformerStack, transformerStack } from "../src/model/transformer-stack.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { BLOCK, MARGIN, validFrames } from "../src/model/pipeline.js";
import { tinyModel } from "./tiny-model.js";

beforeAll(async () => {
  await initJax();
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe("padding masked out of attention (keyBias, the engines' `valid` input)", () => {
  it("a padded sequence gives its signal frames exactly what the unpadded sequence gives them, banded and masked attention alike", () => {
    const c = { dim: 16, layers: 2, heads: 2, ffDim: 32, dropout: 0, window: 8 };
    const p = initTransformerStack(new Rng(1), c, 6, 5);
    const rng = new Rng(2);
    // 64 frames (banded attention): the signal is frames 10..49, padding either side holds anything.
    const T = 64;
    const [a, b] = [10, 50];
    const x = Float32Array.from({ length: T * 6 }, () => rng.normal());
    const valid = Float32Array.from({ length: T }, (_, t) => (t >= a && t < b ? 1 : 0));
    const v = np.array(valid);
    const padded = transformerStack(p, c, np.array(x).reshape([1, T, 6]), null, v).dataSync() as Float32Array;
    v.dispose();
    // The signal alone: 40 frames (masked attention: too short to band).
    const alone = transformerStack(p, c, np.array(x.slice(a * 6, b * 6)).reshape([1, b - a, 6])).dataSync() as Float32Array;
    expect(maxAbsDiff(padded.subarray(a * 5, b * 5), alone)).toBeLessThan(1e-4); // RoPE is relative: a shift changes only rounding
    // Without the mask the padding leaks into the signal's frames.
    const leaky = transformerStack(p, c, np.array(x).reshape([1, T, 6])).dataSync() as Float32Array;
    expect(maxAbsDiff(leaky.subarray(a * 5, b * 5), alone)).toBeGreaterThan(1e-2);
  });

  it("the exported encoder and prior honour `valid`: a clip in a padded block is coded and decoded as the clip alone", async () => {
    const m = tinyModel(5);
    const onnx = await OnnxEngine.create(ort as never, exportModelOnnx(m));
    const jax = new JaxEngine(m.info, m.codec, m.buffers, m.generator);
    const { nMels, rvq } = m.info.codec;
    const S = rvq.stages;
    const frames = 40; // a short clip: one block, its core from frame 0
    const valid = validFrames(0, frames);
    expect(valid.reduce((s, v) => s + v, 0)).toBe(frames);
    expect(valid[MARGIN]).toBe(1);
    expect(valid[MARGIN - 1]).toBe(0);
    const rng = new Rng(3);
    const mel = Float32Array.from({ length: frames * nMels }, () => rng.normal());
    const block = new Float32Array(BLOCK * nMels).fill(-3); // padding: anything
    block.set(mel, MARGIN * nMels);
    const fromBlock = await onnx.encode(block, BLOCK, { beam: 1 }, valid);
    const alone = await jax.encode(mel, frames, { beam: 1 }, new Float32Array(frames).fill(1));
    for (let s = 0; s < S; s++) expect(Array.from(fromBlock.codes.subarray(s * BLOCK + MARGIN, s * BLOCK + MARGIN + frames))).toEqual(Array.from(alone.codes.subarray(s * frames, (s + 1) * frames)));
    const codes = new Int32Array(S * BLOCK).fill(7);
    const mask = new Float32Array(S * BLOCK).fill(1);
    for (let s = 0; s < S; s++) codes.set(alone.codes.subarray(s * frames, (s + 1) * frames), s * BLOCK + MARGIN);
    const mu = await onnx.prior(codes, mask, BLOCK, valid);
    const muAlone = await jax.prior(Int32Array.from(alone.codes), new Float32Array(S * frames).fill(1), frames, new Float32Array(frames).fill(1));
    expect(maxAbsDiff(mu.subarray(MARGIN * nMels, (MARGIN + frames) * nMels), muAlone)).toBeLessThan(1e-4);
    onnx.dispose();
    jax.dispose();
  });
});
