import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MelFrontEnd } from "../src/audio/mel.js";
import type { ManifestEntry } from "../src/corpus/build.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { createPhaseVocoder, parseVocoder, type PhaseMethod, type VocoderChoice } from "../src/model/phase-vocoder.js";
import { BLOCK } from "../src/model/pipeline.js";
import { initRefiner, REFINER_CONFIGS, refineMagnitude, type RefinerParams } from "../src/model/refiner.js";
import { normalParam } from "../src/nn/init.js";
import { Rng } from "../src/nn/rng.js";
import { initJax, np, tree } from "../src/nn/runtime.js";
import { loadClips, memoryClip, type Clip } from "../src/train/data.js";
import { MagnitudeTarget } from "../src/train/magnitude-target.js";
import { createRefinerTask, REFINER_TRAIN } from "../src/train/refiner-task.js";
import { checkpointPath, runTraining } from "../src/train/runner.js";
import { parseSafeTensors } from "../src/util/safetensors.js";
import { maxAbsDiff } from "./helpers.js";
import { testSignal, tinyModel, writeTinyModelDir } from "./tiny-model.js";
import { makeToyCorpus } from "./toy-corpus.js";

const TINY = REFINER_CONFIGS["refiner-tiny"];
const BINS = TINY.generator.nFft / 2 + 1;

let train: Clip[];
let val: Clip[];

beforeAll(async () => {
  await initJax();
  const dir = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-refiner-corpus-")));
  train = loadClips(dir, "train");
  val = loadClips(dir, "validation");
});

/** A log-mel of a test signal, `frames` frames. */
function testMel(frames: number): Float32Array {
  const mel = new MelFrontEnd().compute(testSignal(((frames - 1) * 512) / 24000));
  return mel.data.slice(0, frames * 128);
}

describe("refiner model", () => {
  it("starts at its prior: the zero-initialised residual head leaves the log NNLS magnitudes exactly", () => {
    const p = initRefiner(new Rng(1), TINY.generator);
    const rng = new Rng(2);
    const mel = rng.normalArray(2 * 12 * 128, 3);
    const prior = rng.normalArray(2 * 12 * BINS, 4);
    const out = refineMagnitude(p, TINY.generator, np.array(mel).reshape([2, 12, 128]), np.array(prior).reshape([2, 12, BINS]));
    expect(out.shape).toEqual([2, 12, BINS]);
    expect(Array.from(out.dataSync() as Float32Array)).toEqual(Array.from(prior));
  });
});

describe("refiner training target", () => {
  it("is framed as the mel front end frames: its filterbank projection is the clip's mel (edges and middle)", () => {
    const fe = new MelFrontEnd();
    const audio = testSignal(1.3);
    const clip = memoryClip({ id: "t", kind: "speech-real" } as ManifestEntry, audio, fe.compute(audio));
    const target = new MagnitudeTarget();
    for (const f0 of [0, 20, clip.frames - 6]) {
      const logMag = target.logMagnitude(clip, f0, 6);
      const mel = new Float32Array(6 * 128);
      for (let t = 0; t < 6; t++)
        for (let m = 0; m < 128; m++) {
          let acc = 0;
          for (let k = 0; k < BINS; k++) acc += fe.filterbank[k * 128 + m] * Math.exp(logMag[t * BINS + k]);
          mel[t * 128 + m] = Math.log(Math.max(acc, 1e-5));
        }
      expect(maxAbsDiff(mel, clip.mel(f0, 6)), `crop at ${f0}`).toBeLessThan(1e-3);
    }
  });
});

describe("refiner training (tiny, toy corpus)", () => {
  it("a few steps lower the validation L1 below the NNLS prior's", async () => {
    // No EMA: the runner updates it, and this calls the task's steps directly. The toy clips' noise
    // floor (Rayleigh-distributed magnitudes) is most of the L1 and cannot be learned: a few % is the signal.
    const task = await createRefinerTask(TINY, { ...REFINER_TRAIN["refiner-tiny"], steps: 60, emaDecay: 0 }, train, val, 0);
    const before = task.validate();
    const rng = new Rng(1);
    for (let s = 0; s < 60; s++) await task.step(s, rng);
    const after = task.validate();
    expect(after.l1).toBeLessThan(0.985 * before.l1);
  });

  it("resumes bit for bit, and logs the prior's validation at step 0", async () => {
    const t = { ...REFINER_TRAIN["refiner-tiny"], steps: 4 };
    const run = async (out: string, n: number, resume?: string) =>
      runTraining(await createRefinerTask(TINY, t, train, val, 0), { out, steps: n, seed: 3, logEvery: 1, valEvery: 1000, ckptEvery: 1000, resume, quiet: true });
    const a = mkdtempSync(join(tmpdir(), "flowmac-refiner-a-"));
    const b = mkdtempSync(join(tmpdir(), "flowmac-refiner-b-"));
    await run(a, 4);
    await run(b, 2);
    await run(b, 4, checkpointPath(b));
    const tensors = (dir: string) => parseSafeTensors(new Uint8Array(readFileSync(checkpointPath(dir)))).tensors;
    const ta = tensors(a);
    const tb = tensors(b);
    expect([...tb.keys()]).toEqual([...ta.keys()]);
    for (const [name, x] of ta) expect(Buffer.compare(Buffer.from(x.data.buffer), Buffer.from(tb.get(name)!.data.buffer)), name).toBe(0);
    const rows = readFileSync(join(a, "log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const vals = rows.filter((r) => "val_l1" in r);
    expect(vals.map((r) => r.step)).toEqual([0, 4]);
  });
});

describe("refiner vocoder in the engines (tiny model)", () => {
  /** A tiny model whose refiner head is random, so that the residual is not zero. */
  function trainedLooking(seed: number) {
    const m = tinyModel(seed, "refiner-tiny");
    const g = m.generator as RefinerParams;
    tree.dispose(g.head);
    const rng = new Rng(seed + 10);
    g.head = { w: normalParam(rng, [BINS, TINY.generator.dim], 0.05), b: normalParam(rng, [BINS], 0.1) };
    return m;
  }

  it("onnx and jax engines vocode the same audio", async () => {
    const m = trainedLooking(3);
    const jaxE = new JaxEngine(m.info, tree.ref(m.codec), tree.ref(m.buffers), tree.ref(m.generator));
    const onnxE = await OnnxEngine.create(ort as any, exportModelOnnx(m));
    const mel = testMel(BLOCK);
    const a = await jaxE.vocode(mel, BLOCK);
    const b = await onnxE.vocode(mel, BLOCK);
    expect(a.length).toBe(BLOCK * 512);
    const peak = a.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
    expect(peak).toBeGreaterThan(0.01);
    expect(maxAbsDiff(b, a) / peak).toBeLessThan(1e-4);
  });

  it("untrained, it is the training-free NNLS + PGHI-FGLA:16 vocoder", async () => {
    const m = tinyModel(4, "refiner-tiny");
    const jaxE = new JaxEngine(m.info, m.codec, m.buffers, m.generator);
    const mel = testMel(64);
    const refined = await jaxE.vocode(mel, 64);
    const free = await createPhaseVocoder(parseVocoder("pghi-fgla") as VocoderChoice & { method: PhaseMethod });
    const reference = free.vocode(mel, 64);
    const peak = reference.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
    // Not bit-identical: NNLS magnitudes in (0, 1e-5) are floored at 1e-5, then read as silence.
    expect(maxAbsDiff(refined, reference) / peak).toBeLessThan(5e-3);
  });

  it("phase iterations are a decode setting: 0 gives the training-free vocoder's PGHI alone on the refined magnitude, on both engines", async () => {
    const m = tinyModel(6, "refiner-tiny"); // untrained: the refined magnitude is the NNLS prior
    const jaxE = new JaxEngine(m.info, tree.ref(m.codec), tree.ref(m.buffers), tree.ref(m.generator));
    const onnxE = await OnnxEngine.create(ort as any, exportModelOnnx(m));
    const mel = testMel(BLOCK);
    const pghiOnly = await jaxE.vocode(mel, BLOCK, { phaseIterations: 0 });
    const free = await createPhaseVocoder(parseVocoder("pghi") as VocoderChoice & { method: PhaseMethod });
    const reference = free.vocode(mel, BLOCK);
    const peak = reference.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
    expect(maxAbsDiff(pghiOnly, reference) / peak).toBeLessThan(5e-3);
    expect(maxAbsDiff(await onnxE.vocode(mel, BLOCK, { phaseIterations: 0 }), pghiOnly) / peak).toBeLessThan(1e-4);
    // Fewer NNLS iterations give another magnitude prior, so other audio.
    expect(maxAbsDiff(await jaxE.vocode(mel, BLOCK, { phaseIterations: 0, nnlsIterations: 5 }), pghiOnly) / peak).toBeGreaterThan(1e-4);
    // The default (16 iterations) is another signal.
    expect(maxAbsDiff(await jaxE.vocode(mel, BLOCK), pghiOnly) / peak).toBeGreaterThan(1e-2);
    onnxE.dispose();
  });

  it("a model directory with a refiner vocoder loads and vocodes on both engines; an unknown vocoder kind is a UserError", async () => {
    const { openEngine } = await import("../src/model/open.js");
    const { saveCheckpoint } = await import("../src/nn/checkpoint.js");
    const root = mkdtempSync(join(tmpdir(), "flowmac-refiner-dir-"));
    process.env.FLOWMAC_CACHE = join(root, "cache");
    try {
      const dir = await writeTinyModelDir(join(root, "m"), 5, "refiner-tiny");
      const mel = testMel(BLOCK);
      const out: Float32Array[] = [];
      for (const engine of ["onnx", "jax"] as const) {
        const e = await openEngine(dir, engine);
        out.push(await e.vocode(mel, BLOCK));
        e.dispose();
      }
      expect(maxAbsDiff(out[0], out[1])).toBeLessThan(1e-4);
      const m = tinyModel(5, "refiner-tiny");
      const odd = { ...m.info.vocoder, generator: { ...m.info.vocoder.generator, kind: "wavenet" } };
      saveCheckpoint(join(dir, "vocoder.safetensors"), { model: "vocoder", config: odd, trees: { "params.gen": m.generator as any } });
      await expect(openEngine(dir, "jax")).rejects.toThrow(/unknown vocoder kind 'wavenet'/);
    } finally {
      delete process.env.FLOWMAC_CACHE;
    }
  });
});
