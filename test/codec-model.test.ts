import { beforeAll, describe, expect, it } from "vitest";
import { initJax } from "../src/nn/runtime.js";
import { bitrate, CODEC_CONFIGS, FRAME_RATE } from "../src/model/config.js";
import { cfmLengthMultiple } from "../src/model/cfm.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { decodeAudio, decodeMel, encodeAudio, eulerSolve, BLOCK, CORE } from "../src/model/pipeline.js";
import { framesFor, readFmac, writeFmac } from "../src/bitstream/fmac.js";
import { tinyModel, testSignal } from "./tiny-model.js";

let engine: JaxEngine;
beforeAll(async () => {
  await initJax();
  const m = tinyModel();
  engine = new JaxEngine(m.info, m.codec, m.buffers, m.generator);
});

describe("bit-rate arithmetic", () => {
  it("46.875 frames/s x 8 bits per stage: 8 stages = 3 kbit/s, 4 stages = 1.5 kbit/s, 16 stages = 6 kbit/s", () => {
    expect(FRAME_RATE).toBe(46.875);
    expect(bitrate(8)).toBe(3000);
    expect(bitrate(4)).toBe(1500);
    expect(bitrate(16)).toBe(6000);
  });
});

describe("Euler solver with guidance", () => {
  it("integrates dx/dt = -x to x0 e^-1 within 0.2% at 200 steps (first-order error)", async () => {
    const x0 = Float32Array.from([1, -2, 0.5]);
    const x = await eulerSolve(x0, 200, 0, async (xB) => xB.map((v) => -v));
    x.forEach((v, i) => expect(Math.abs(v - x0[i] * Math.exp(-1))).toBeLessThan(0.002 * Math.abs(x0[i])));
    const coarse = await eulerSolve(x0, 10, 0, async (xB) => xB.map((v) => -v));
    expect(Math.abs(coarse[0] - Math.exp(-1))).toBeGreaterThan(Math.abs(x[0] - Math.exp(-1)) * 5);
  });

  it("combines conditional and unconditional fields as v_c + w (v_c - v_u)", async () => {
    // v_c = 1 (first half), v_u = 3 (second half): v = 1 + 0.5 * (1 - 3) = 0 -> x stays; w = 2 -> v = -3.
    const field = async (xB: Float32Array) => Float32Array.from(xB, (_, i) => (i < xB.length / 2 ? 1 : 3));
    expect(Array.from(await eulerSolve(Float32Array.from([5]), 4, 0.5, field))).toEqual([5]);
    expect((await eulerSolve(Float32Array.from([5]), 4, 2, field))[0]).toBeCloseTo(2, 6);
  });
});

describe("tiny codec model end to end (random weights)", () => {
  it("codes have floor(len/512)+1 frames x all stages, and the .fmac carries them", async () => {
    const audio = testSignal(7.3); // longer than one block: exercises block joins
    const enc = await encodeAudio(engine, audio);
    expect(enc.frames).toBe(framesFor(audio.length));
    expect(enc.frames).toBeGreaterThan(CORE);
    expect(enc.stages).toBe(4);
    const K = engine.info.codec.rvq.codebookSize;
    expect(Math.max(...enc.codes)).toBeLessThan(K);
    const s = readFmac(writeFmac({ modelId: engine.info.modelId, sampleRate: 24000, stages: 4, bitsPerIndex: Math.log2(K), length: audio.length, frames: enc.frames, codes: enc.codes }));
    expect(s.codes).toEqual(enc.codes);
  });

  it("decodes to exactly the input length, deterministically per seed, at full and reduced stages", async () => {
    const audio = testSignal(1.5);
    const enc = await encodeAudio(engine, audio);
    const o = { steps: 3, guidance: 1, temperature: 1, seed: 7 };
    const a = await decodeAudio(engine, enc.codes, enc.frames, 4, audio.length, o);
    const b = await decodeAudio(engine, enc.codes, enc.frames, 4, audio.length, o);
    const c = await decodeAudio(engine, enc.codes, enc.frames, 4, audio.length, { ...o, seed: 8 });
    expect(a.length).toBe(audio.length);
    expect(a.every(Number.isFinite)).toBe(true);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    // Quantizer dropout at inference: 2 of 4 stages decode (to a different mel).
    const full = await decodeMel(engine, enc.codes, enc.frames, 4, o);
    const half = await decodeMel(engine, enc.codes, enc.frames, 4, { ...o, stages: 2 });
    expect(half.length).toBe(full.length);
    expect(half.every(Number.isFinite)).toBe(true);
    expect(half).not.toEqual(full);
  });

  it("encoding is deterministic", async () => {
    const audio = testSignal(2);
    expect((await encodeAudio(engine, audio)).codes).toEqual((await encodeAudio(engine, audio)).codes);
  });

  it("blocks fit the U-Net: the block length is a multiple of its down-sampling factor", () => {
    for (const c of Object.values(CODEC_CONFIGS)) expect(BLOCK % cfmLengthMultiple(c.cfm)).toBe(0);
  });
});

describe("tiny codec training", () => {
  it("overfits one clip: validation prior loss falls below 75% and CFM loss below 90% of their starting values in 100 steps", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { makeToyCorpus } = await import("./toy-corpus.js");
    const { clipMel, loadClips } = await import("../src/train/data.js");
    const { MelStatsAccumulator } = await import("../src/audio/stats.js");
    const { CODEC_TRAIN, createCodecTask } = await import("../src/train/codec-task.js");
    const { Rng } = await import("../src/nn/rng.js");
    const dir = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-overfit-")), 2, 1.5);
    const train = loadClips(dir, "train");
    expect(train).toHaveLength(1);
    const acc = new MelStatsAccumulator(128);
    for (const c of train) acc.add(clipMel(c));
    const t = { ...CODEC_TRAIN.tiny, steps: 100, lr: 3e-3, warmup: 10, batch: 2, frames: 16 };
    // The clip is its own validation set: fixed crops, noise and flow times.
    const task = createCodecTask(CODEC_CONFIGS.tiny, t, train, train, acc.result(), 0);
    const before = task.validate();
    const rng = new Rng(0);
    for (let s = 0; s < t.steps; s++) task.step(s, rng);
    const after = task.validate();
    expect(after.prior).toBeLessThan(0.75 * before.prior);
    expect(after.cfm).toBeLessThan(0.9 * before.cfm);
  });
});

describe("block-wise processing", () => {
  it("the vocoder decoded block by block equals the vocoder run on the whole signal at once (margins cover its receptive field)", async () => {
    const { vocodeMel } = await import("../src/model/pipeline.js");
    const { MelFrontEnd } = await import("../src/audio/mel.js");
    const audio = testSignal(12); // three blocks
    const mel = new MelFrontEnd().compute(audio);
    const blocks = await vocodeMel(engine, mel.data, mel.frames, audio.length);
    const whole = (await engine.vocode(mel.data, mel.frames)).subarray(0, audio.length);
    let err = 0;
    let peak = 0;
    // The file's own edges differ by design: blocks pad with the log floor (silence), the
    // whole-signal convolutions with zeros. Block joins are at 192 x 512 samples and beyond.
    for (let i = 40 * 512; i < audio.length - 40 * 512; i++) {
      err = Math.max(err, Math.abs(blocks[i] - whole[i]));
      peak = Math.max(peak, Math.abs(whole[i]));
    }
    expect(err).toBeLessThan(1e-4 * Math.max(peak, 1e-3));
  });

  it("streamed chunks concatenate to the whole decode", async () => {
    const { decodeAudioChunks } = await import("../src/model/pipeline.js");
    const audio = testSignal(9);
    const enc = await encodeAudio(engine, audio);
    const o = { steps: 2, guidance: 1, temperature: 1, seed: 3 };
    const whole = await decodeAudio(engine, enc.codes, enc.frames, 4, audio.length, o);
    const parts: Float32Array[] = [];
    for await (const c of decodeAudioChunks(engine, enc.codes, enc.frames, 4, audio.length, o)) parts.push(c);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.reduce((n, p) => n + p.length, 0)).toBe(audio.length);
    expect(Float32Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(whole);
  });
});
