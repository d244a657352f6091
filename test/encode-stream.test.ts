import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { initJax } from "../src/nn/runtime.js";
import { codeModelOf, fitCodeModel, serializeCodeModel, tableFor } from "../src/bitstream/code-model.js";
import { readFmac, writeFmac } from "../src/bitstream/fmac.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { allocates, encodeStream } from "../src/model/encode-stream.js";
import { decodeMel, DEFAULT_DECODE, encodeAudio } from "../src/model/pipeline.js";
import { tinyModel, testSignal } from "./tiny-model.js";
import { Rng } from "../src/nn/rng.js";

let engine: OnnxEngine;
beforeAll(async () => {
  await initJax();
  engine = await OnnxEngine.create(ort as never, exportModelOnnx(tinyModel(3)));
});


describe("encodeStream: rate allocation across frames", () => {
  // A signal that is silent for its first half: allocation should move stages to the second.
  const x = testSignal(4);
  x.fill(0, 0, x.length / 2);
  x[7] = 1e-4;

  it("spends no more than the rate asks, and each frame's codes are the best for its own count", async () => {
    const { rvq } = engine.info.codec; // tiny: 4 stages of 64 entries
    const rate = { stages: 2.5, allocate: true };
    expect(allocates(rate, rvq)).toBe(true);
    const s = await encodeStream(engine, x, rate);
    expect(s.stages).toBe(rvq.stages);
    const counts = s.frameStages!;
    const bits = writeFmac(s).length * 8 - 40 * 8;
    expect(bits).toBeLessThanOrEqual(2.5 * 6 * s.frames + 7);
    expect(bits).toBeGreaterThan(0.9 * 2.5 * 6 * s.frames);
    expect(new Set(counts).size).toBeGreaterThan(1);
    // The second pass searched frame t for exactly counts[t] stages: the codes a fixed-rate encode at that count gives.
    const fixed = await Promise.all([1, 2, 3, 4].map((n) => encodeAudio(engine, x, undefined, { stages: n })));
    for (let t = 0; t < s.frames; t++) {
      const n = counts[t];
      expect(Array.from(s.codes.subarray(t * 4, t * 4 + n))).toEqual(Array.from(fixed[n - 1].codes.subarray(t * n, (t + 1) * n)));
      expect(Array.from(s.codes.subarray(t * 4 + n, (t + 1) * 4))).toEqual(new Array(4 - n).fill(0));
    }
    // Deterministic, and the bytes decode to the same stream.
    const again = await encodeStream(engine, x, rate);
    expect(Buffer.compare(Buffer.from(writeFmac(again)), Buffer.from(writeFmac(s)))).toBe(0);
    expect(readFmac(writeFmac(s))).toEqual(s);
  });

  it("decodes frames with their own counts: all counts n decode as a fixed n-stage stream", async () => {
    const { codes, frames } = await encodeAudio(engine, x, undefined, { stages: 4 });
    for (const n of [1, 3]) {
      const masked = await decodeMel(engine, codes, frames, 4, { ...DEFAULT_DECODE, frameStages: new Uint8Array(frames).fill(n) });
      const prefix = await decodeMel(engine, codes, frames, 4, { ...DEFAULT_DECODE, stages: n });
      expect(Array.from(masked)).toEqual(Array.from(prefix));
    }
    await expect(decodeMel(engine, codes, frames, 4, { ...DEFAULT_DECODE, frameStages: new Uint8Array(frames - 1).fill(2) })).rejects.toThrow(/stage counts for/);
  });

  it("falls back to the same stages every frame where allocation cannot help", async () => {
    const { rvq } = engine.info.codec;
    for (const rate of [{ stages: 4, allocate: true }, { stages: 2, allocate: false }, { stages: 1.1, allocate: true }]) {
      expect(allocates(rate, rvq)).toBe(false);
      const s = await encodeStream(engine, x, rate);
      expect(s.frameStages).toBeUndefined();
      expect(s.stages).toBe(Math.floor(rate.stages));
    }
    await expect(encodeStream(engine, x, { stages: 2.5, allocate: false })).rejects.toThrow(/whole number/);
  });
});

describe("encodeStream: entropy coding (version 3)", () => {
  // Code tables fitted on the tiny model's own first-pass codes of other audio, as `flowmac fit-entropy` fits them.
  let coded: OnnxEngine;
  beforeAll(async () => {
    const m = tinyModel(3);
    const { stages, codebookSize } = m.info.codec.rvq;
    // Fitted on the clip itself and others like it: the tiny model's codes of unrelated audio repeat too little for tables to pay.
    const train = await Promise.all([testSignal(4), testSignal(4), ...[5, 6].map((seed) => testSignal(6, 24000 + seed))].map((a) => encodeAudio(engine, a, undefined, { stages })));
    const bundle = exportModelOnnx(m);
    bundle.info.codeTables = serializeCodeModel(fitCodeModel(train.map((e) => e.codes), stages, codebookSize));
    coded = await OnnxEngine.create(ort as never, bundle);
    expect(codeModelOf(coded.info)!.stages.length).toBeGreaterThan(0);
  });
  const x = testSignal(4);

  it("spends at most the rate's bits, indices under the tables, the bits saved on more stages than version 2 carries", async () => {
    const rate = { stages: 2.5, allocate: true };
    const s = await encodeStream(coded, x, rate);
    const bytes = writeFmac(s);
    expect(bytes[4]).toBe(3);
    const bits = bytes.length * 8 - 40 * 8;
    const budget = 2.5 * 6 * s.frames;
    expect(bits).toBeLessThanOrEqual(budget + 8 * 6);
    // (Here the tables make every stage cheap, so the counts stop where more stages add no accuracy, below the budget.)
    const plain = await encodeStream(coded, x, { ...rate, entropy: false });
    expect(writeFmac(plain)[4]).toBe(2);
    const total = (c: Uint8Array) => c.reduce((a, b) => a + b, 0);
    expect(total(s.frameStages!)).toBeGreaterThan(total(plain.frameStages!));
    // Read back with the model's tables; without them the stream is refused in one line.
    expect(readFmac(bytes, "b", codeModelOf(coded.info))).toEqual(s);
    expect(() => readFmac(bytes, "b")).toThrow(/needs the code tables/);
    const again = await encodeStream(coded, x, rate);
    expect(Buffer.compare(Buffer.from(writeFmac(again)), Buffer.from(bytes))).toBe(0);
  });

  it("the entropy-constrained search (the default) picks cheaper indices within the same budget; weight 0 is the distortion-only search", async () => {
    // Audio the tables fit less well (noise bursts over the tone), at a rate whose budget binds: on the tone alone
    // every stage fits the budget, the allocation's price of a bit is 0 and so is the rate term.
    const rng = new Rng(9);
    const y = Float32Array.from(x, (v, i) => v + (Math.floor(i / 6000) % 2 ? 0.3 * rng.normal() : 0));
    const rate = { stages: 1.5, allocate: true };
    const tables = codeModelOf(coded.info)!;
    const rd = await encodeStream(coded, y, rate);
    const plain = await encodeStream(coded, y, { ...rate, rdWeight: 0 });
    const budget = 1.5 * 6 * rd.frames;
    for (const s of [rd, plain]) expect(writeFmac(s).length * 8 - 40 * 8).toBeLessThanOrEqual(budget + 8 * 6);
    // Every frame carries stage 1, coded given the previous frame's: the search picks cheaper stage-1 indices.
    const firstStageBits = (s: typeof rd) => {
      let b = 0;
      for (let t = 0; t < s.frames; t++) b += tableFor(tables, 0, t > 0 ? s.codes[(t - 1) * s.stages] : null)!.bits(s.codes[t * s.stages]);
      return b;
    };
    const level = await encodeStream(coded, y, { ...rate, rdAhead: 0 }); // no look-ahead: the plain search's planned counts
    expect(firstStageBits(level)).toBeLessThan(0.98 * firstStageBits(plain));
    // The look-ahead spends what that saves on more stages.
    const total = (c: Uint8Array) => c.reduce((a, b) => a + b, 0);
    expect(total(rd.frameStages!)).toBeGreaterThan(total(plain.frameStages!));
    // Deterministic with and without the rate term.
    const again = await encodeStream(coded, y, { ...rate, rdWeight: 0 });
    expect(Array.from(again.codes)).toEqual(Array.from(plain.codes));
    expect(Array.from((await encodeStream(coded, y, rate)).codes)).toEqual(Array.from(rd.codes));
  });
});
