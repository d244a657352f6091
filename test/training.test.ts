import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initJax } from "../src/nn/runtime.js";
import { CODEC_CONFIGS } from "../src/model/config.js";
import { VOCODER_CONFIGS } from "../src/model/vocoder.js";
import { CODEC_TRAIN, createCodecTask, heldOutValidation } from "../src/train/codec-task.js";
import { createVocoderTask, VOCODER_TRAIN } from "../src/train/vocoder-task.js";
import { clipMel, loadClips, type Clip } from "../src/train/data.js";
import { checkpointPath, initFromWeights, runTraining, weightsPath, type TrainTask } from "../src/train/runner.js";
import { initWeightsPath, melStatsOf } from "../src/train/init-weights.js";
import { readCheckpointFile, type LoadedFile } from "../src/nn/checkpoint.js";
import { toHost } from "../src/nn/params.js";
import type { CodecConfig } from "../src/model/config.js";
import type { VocoderConfig } from "../src/model/vocoder.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { readWav } from "../src/audio/wav.js";
import { writeTinyModelDir } from "./tiny-model.js";
import { MelStatsAccumulator, type MelStats } from "../src/audio/stats.js";
import { parseSafeTensors } from "../src/util/safetensors.js";
import { makeToyCorpus } from "./toy-corpus.js";

let corpus: string;
let train: Clip[];
let val: Clip[];
let stats: MelStats;

beforeAll(async () => {
  await initJax();
  const dir = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-corpus-")));
  corpus = dir;
  train = loadClips(dir, "train");
  val = loadClips(dir, "validation");
  const acc = new MelStatsAccumulator(128);
  for (const c of train) acc.add(clipMel(c));
  stats = acc.result();
});

function tensorsOf(path: string) {
  return parseSafeTensors(new Uint8Array(readFileSync(path))).tensors;
}

/** Trains `steps` straight, and `half` + resume + the rest; the final weights must be identical bit for bit. */
async function resumeIsExact(make: () => TrainTask, steps: number, half: number) {
  const run = (out: string, n: number, resume?: string) =>
    runTraining(make(), { out, steps: n, seed: 3, logEvery: 1, valEvery: 1000, ckptEvery: 1000, resume, quiet: true });
  const a = mkdtempSync(join(tmpdir(), "flowmac-run-a-"));
  const b = mkdtempSync(join(tmpdir(), "flowmac-run-b-"));
  await run(a, steps);
  await run(b, half);
  await run(b, steps, checkpointPath(b));
  const ta = tensorsOf(checkpointPath(a));
  const tb = tensorsOf(checkpointPath(b));
  expect([...tb.keys()]).toEqual([...ta.keys()]);
  for (const [name, t] of ta) expect(Buffer.compare(Buffer.from(t.data.buffer), Buffer.from(tb.get(name)!.data.buffer)), name).toBe(0);
  return ta;
}

describe("training runs resume bit for bit", () => {
  it("codec (tiny): 6 steps == 3 steps + resume + 3 steps", async () => {
    const t = { ...CODEC_TRAIN.tiny, steps: 6 };
    const ta = await resumeIsExact(() => createCodecTask(CODEC_CONFIGS.tiny, t, train, val, stats, 0), 6, 3);
    expect(ta.has("buffers.codebooks.0")).toBe(true);
    expect(ta.has("opt.m.codec.cfm.finalProj.w")).toBe(true);
  });

  it("codec with speaker perturbation (--warp): resumes bit for bit and trains on other crops than without", async () => {
    const t = { ...CODEC_TRAIN.tiny, steps: 4 };
    const warped = await resumeIsExact(() => createCodecTask(CODEC_CONFIGS.tiny, { ...t, warp: 0.15 }, train, val, stats, 0), 4, 2);
    const plain = await resumeIsExact(() => createCodecTask(CODEC_CONFIGS.tiny, t, train, val, stats, 0), 4, 2);
    const same = (name: string) => Buffer.compare(Buffer.from(warped.get(name)!.data.buffer), Buffer.from(plain.get(name)!.data.buffer)) === 0;
    expect([...warped.keys()].filter((k) => !same(k)).length).toBeGreaterThan(0);
  });

  it("held-out speakers get a validation curve of their own, from their clips laid end to end", () => {
    const t = { ...CODEC_TRAIN.tiny, steps: 1 };
    const plain = createCodecTask(CODEC_CONFIGS.tiny, t, train, val, stats, 0).validate();
    const withHeldOut = createCodecTask(CODEC_CONFIGS.tiny, t, train, val, stats, 0, { heldOut: val }).validate();
    expect(Object.keys(plain).some((k) => k.startsWith("unseen"))).toBe(false);
    for (const [k, v] of Object.entries(plain)) expect(withHeldOut[k]).toBe(v); // the seen curve is unchanged
    const S = CODEC_CONFIGS.tiny.rvq.stages;
    const keys = ["unseen_prior", `unseen_prior_${Math.max(1, S / 2)}stages`, `unseen_prior_${Math.max(1, S / 4)}stages`];
    for (const k of new Set(keys)) expect(Number.isFinite(withHeldOut[k]), k).toBe(true);
    // Batches of consecutive frames across clip boundaries, normalised as training crops are.
    const [B, T] = [t.batch, t.frames];
    const batches = heldOutValidation(val, B, T, stats);
    const laid = val.flatMap((c) => [...c.mel(0, c.frames)]);
    expect(batches.length).toBe(Math.min(8, Math.floor(laid.length / 128 / (B * T))));
    const second = batches[1] ?? batches[0];
    const at = (batches.length > 1 ? 1 : 0) * B * T * 128 + 5 * 128 + 7; // frame 5, band 7 of that batch
    expect(second[5 * 128 + 7]).toBeCloseTo((laid[at] - stats.mean[7]) / stats.std[7], 4);
  });

  it("vocoder (tiny, GAN on): 4 steps == 2 steps + resume + 2 steps", async () => {
    const t = { ...VOCODER_TRAIN["vocos-tiny"], steps: 4 };
    await resumeIsExact(() => createVocoderTask(VOCODER_CONFIGS["vocos-tiny"], t, train, val, 0), 4, 2);
  });

  it("a weights-only file resumes too (fresh optimiser, same weights)", async () => {
    const t = { ...CODEC_TRAIN.tiny, steps: 2 };
    const out = mkdtempSync(join(tmpdir(), "flowmac-run-w-"));
    await runTraining(createCodecTask(CODEC_CONFIGS.tiny, t, train, val, stats, 0), { out, steps: 2, seed: 3, logEvery: 1, valEvery: 100, ckptEvery: 100, quiet: true });
    const out2 = mkdtempSync(join(tmpdir(), "flowmac-run-w2-"));
    const res = await runTraining(createCodecTask(CODEC_CONFIGS.tiny, { ...t, steps: 3 }, train, val, stats, 0), { out: out2, steps: 3, seed: 3, logEvery: 1, valEvery: 100, ckptEvery: 100, resume: weightsPath(out), quiet: true });
    expect(res.step).toBe(3);
  });

  it("Ctrl-C (SIGINT) stops a run at the next step with a checkpoint", async () => {
    const t = { ...CODEC_TRAIN.tiny, steps: 1000 };
    const out = mkdtempSync(join(tmpdir(), "flowmac-run-int-"));
    const task = createCodecTask(CODEC_CONFIGS.tiny, t, train, val, stats, 0);
    const step = task.step.bind(task);
    task.step = (s, r) => {
      if (s === 2) process.emit("SIGINT");
      return step(s, r);
    };
    const res = await runTraining(task, { out, steps: 1000, seed: 3, logEvery: 1, valEvery: 1000, ckptEvery: 1000, quiet: true });
    expect(res).toEqual({ step: 3, stopped: true });
    expect(parseSafeTensors(new Uint8Array(readFileSync(checkpointPath(out)))).metadata.step).toBe("3");
  });
});

describe("corpus clips read from disk", () => {
  it("equal the WAV files and their log-mels, with the mel cache under its old name and layout", () => {
    const fe = new MelFrontEnd();
    const entries = train.map((c) => c.entry);
    let h = 2166136261;
    const key = entries.map((e) => `${e.id}:${e.seconds}`).join("|");
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619) >>> 0;
    expect(readdirSync(corpus)).toContain(`mels-train-${h.toString(16)}.bin`);
    const cache = new Float32Array(readFileSync(join(corpus, `mels-train-${h.toString(16)}.bin`)).buffer.slice(0));
    let offset = 0;
    for (const clip of train) {
      const audio = readWav(new Uint8Array(readFileSync(join(corpus, clip.entry.path)))).channels[0];
      const mel = fe.compute(audio);
      expect(clip.frames).toBe(mel.frames);
      expect(cache.subarray(offset, offset + mel.data.length)).toEqual(mel.data);
      offset += mel.data.length;
      const f0 = clip.frames - 10;
      expect(clip.mel(f0, 10)).toEqual(mel.data.subarray(f0 * 128, (f0 + 10) * 128));
      const crop = clip.audio(f0 * 512, 10 * 512);
      expect(crop.subarray(0, audio.length - f0 * 512)).toEqual(audio.subarray(f0 * 512));
      expect(crop.subarray(audio.length - f0 * 512).every((v) => v === 0)).toBe(true);
    }
    expect(offset).toBe(cache.length);
  });
});

/** Every tensor of `tree` equals the file's tensor under `prefix`. */
function expectTreeFromFile(tree: unknown, file: LoadedFile, prefix: string) {
  const host = toHost(tree);
  expect(host.size).toBeGreaterThan(0);
  for (const [name, t] of host) expect(Array.from(t.data), name).toEqual(Array.from(file.tensors.get(`${prefix}.${name}`)!.data));
}

describe("fine-tuning (--init)", () => {
  // 'default' and a bare --init (the bundled model, found next to dist/) are tested through the CLI.
  it("resolves a model directory or a weights file", async () => {
    const model = await writeTinyModelDir(mkdtempSync(join(tmpdir(), "flowmac-init-dir-")));
    expect(initWeightsPath(model, "codec")).toBe(join(model, "codec.safetensors"));
    expect(initWeightsPath(model, "vocoder")).toBe(join(model, "vocoder.safetensors"));
    expect(initWeightsPath(join(model, "codec.safetensors"), "codec")).toBe(join(model, "codec.safetensors"));
    expect(() => initWeightsPath("/nonexistent/model", "codec")).toThrow(/no such model directory or weights file/);
    expect(() => initWeightsPath(tmpdir(), "codec")).toThrow(/not a model directory \(missing codec\.safetensors\)/);
  });

  it("the codec starts from the model's weights, codebooks and mel statistics, with a fresh optimiser at step 0", async () => {
    const model = await writeTinyModelDir(mkdtempSync(join(tmpdir(), "flowmac-init-model-")), 7);
    const file = readCheckpointFile(join(model, "codec.safetensors"), "codec");
    const modelStats = melStatsOf(file);
    const t = { ...CODEC_TRAIN.tiny, steps: 2 };
    const task = createCodecTask(file.config as CodecConfig, t, train, val, modelStats, 0);
    initFromWeights(task, file);
    expectTreeFromFile(task.params(), file, "params.codec");
    expectTreeFromFile(task.buffersOf(), file, "buffers");
    const fresh = createCodecTask(file.config as CodecConfig, t, train, val, modelStats, 0);
    initFromWeights(fresh, file);
    expect(task.validate()).toEqual(fresh.validate()); // the loaded model's loss, before any step
    task.initCodebooks = () => {
      throw new Error("k-means would replace the model's codebooks");
    };
    const out = mkdtempSync(join(tmpdir(), "flowmac-init-run-"));
    const res = await runTraining(task, { out, steps: 2, seed: 3, logEvery: 1, valEvery: 100, ckptEvery: 100, init: join(model, "codec.safetensors"), quiet: true });
    expect(res.step).toBe(2);
    const log = readFileSync(join(out, "log.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    expect(log.find((e: { event?: string }) => e.event === "init")).toMatchObject({ event: "init", from: join(model, "codec.safetensors") });
    expect(log.find((e: { step?: number; event?: string }) => e.event === undefined)?.step).toBe(1); // the first logged step
    const ckpt = parseSafeTensors(new Uint8Array(readFileSync(checkpointPath(out))));
    expect(Array.from(ckpt.tensors.get("state.opt_step.codec")!.data)).toEqual([2]); // Adam counted from 0
    expect(JSON.parse(ckpt.metadata.mel_stats)).toEqual(modelStats);
  });

  it("the vocoder starts from the model's generator (EMA too); the discriminators start afresh", async () => {
    const model = await writeTinyModelDir(mkdtempSync(join(tmpdir(), "flowmac-init-voc-")), 8);
    const file = readCheckpointFile(join(model, "vocoder.safetensors"), "vocoder");
    const task = createVocoderTask(file.config as VocoderConfig, { ...VOCODER_TRAIN["vocos-tiny"], steps: 1 }, train, val, 0);
    const disc = toHost(task.groups.disc.params);
    initFromWeights(task, file);
    expectTreeFromFile(task.groups.gen.params, file, "params.gen");
    expect(task.groups.gen.ema!.map((w) => Array.from(w))).toEqual(task.groups.gen.adam.w.map((w) => Array.from(w)));
    for (const [name, t] of toHost(task.groups.disc.params)) expect(Array.from(t.data), name).toEqual(Array.from(disc.get(name)!.data));
    expect(task.groups.gen.adam.step).toBe(0);
  });
});
