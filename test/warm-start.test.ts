import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MelStatsAccumulator, normalizeMel, type MelStats } from "../src/audio/stats.js";
import { CODEC_CONFIGS, type CodecConfig } from "../src/model/config.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { decodeLinear, encodeLinear, fitLinearCodec, serializeLinearCodec, type LinearCodec } from "../src/model/linear-codec.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { decodeMel, encodeAudio } from "../src/model/pipeline.js";
import { initGenerator, VOCODER_CONFIGS } from "../src/model/vocoder.js";
import type { LoadedModel } from "../src/model/load.js";
import { readCheckpointFile } from "../src/nn/checkpoint.js";
import { toHost } from "../src/nn/params.js";
import { Rng } from "../src/nn/rng.js";
import { initJax, tree } from "../src/nn/runtime.js";
import { CODEC_TRAIN, createCodecTask } from "../src/train/codec-task.js";
import { clipMel, loadClips, type Clip } from "../src/train/data.js";
import { sampleNormalisedFrames } from "../src/train/linear-frames.js";
import { checkpointPath, runTraining } from "../src/train/runner.js";
import { stageActiveShare } from "../src/model/rvq.js";
import { parseSafeTensors } from "../src/util/safetensors.js";
import { expectCleanFailure, runCli } from "./cli-run.js";
import { maxAbsDiff } from "./helpers.js";
import { testSignal, writeTinyModelDir } from "./tiny-model.js";
import { enginePair } from "./tiny-model.js";
import { makeToyCorpus } from "./toy-corpus.js";

const C = CODEC_CONFIGS["tiny-lin"];
let corpus: string;
let train: Clip[];
let val: Clip[];
let stats: MelStats;
let linear: LinearCodec;

beforeAll(async () => {
  await initJax();
  corpus = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-warm-corpus-")));
  train = loadClips(corpus, "train");
  val = loadClips(corpus, "validation");
  const acc = new MelStatsAccumulator(128);
  for (const c of train) acc.add(clipMel(c));
  stats = acc.result();
  const sample = sampleNormalisedFrames(train, stats, 4000);
  linear = fitLinearCodec(sample.frames, sample.n, { stats, dim: C.rvq.dim, stages: C.rvq.stages, codebookSize: C.rvq.codebookSize, seed: 1, iterations: 10 });
});

const tinyTrain = (steps: number) => ({ ...CODEC_TRAIN["tiny-lin"], steps });
const warmTask = (steps = 4, c: CodecConfig = C) => createCodecTask(c, tinyTrain(steps), train, val, stats, 0, { linear });

/** A model from a codec task's weights and a random tiny vocoder. */
function modelOf(task: ReturnType<typeof warmTask>): LoadedModel {
  const vc = VOCODER_CONFIGS["vocos-tiny"];
  return {
    info: { codec: C, vocoder: vc, stats, modelId: "0123456789abcdef" },
    codec: tree.ref(task.params()),
    buffers: tree.ref(task.buffersOf()),
    generator: initGenerator(new Rng(5), vc),
    codecFile: null as never,
    vocoderFile: null as never,
  };
}

describe("the -lin configs", () => {
  it("are their base configs with linear paths", () => {
    for (const base of ["small", "tiny"]) {
      const { name, linearPath, ...rest } = CODEC_CONFIGS[`${base}-lin`];
      expect(name).toBe(`${base}-lin`);
      expect(linearPath).toBe(true);
      expect({ ...rest, name: base }).toEqual(CODEC_CONFIGS[base]);
    }
  });

  it("count a stage's EMA weight as quantizer dropout keeps it", () => {
    // S = 4, min 1, p = 0.5: stage s survives a dropout draw of n in 1..4 when n > s.
    expect([0, 1, 2, 3].map((s) => stageActiveShare(C.rvq, s))).toEqual([1, 0.5 + 0.5 * 0.75, 0.5 + 0.5 * 0.5, 0.5 + 0.5 * 0.25]);
  });
});

describe("warm start from a linear codec (tiny-lin)", () => {
  it("codes a clip as the linear codec does, and its prior mu is the linear decode within 1e-5", async () => {
    const task = warmTask();
    const engine = new JaxEngine({ codec: C, vocoder: VOCODER_CONFIGS["vocos-tiny"], stats, modelId: "x" }, tree.ref(task.params()), tree.ref(task.buffersOf()), initGenerator(new Rng(0), VOCODER_CONFIGS["vocos-tiny"]));
    const mel = normalizeMel(clipMel(val[0]), stats).data;
    const T = val[0].frames;
    const S = C.rvq.stages;
    const all = new Float32Array(T).fill(1);
    const { codes } = await engine.encode(mel, T, { beam: 1 }, all); // [S, T]; the linear codec searches greedily
    const want = encodeLinear(linear, mel, T, S); // [T, S]
    const got = new Uint16Array(T * S);
    for (let s = 0; s < S; s++) for (let t = 0; t < T; t++) got[t * S + s] = codes[s * T + t];
    expect(Array.from(got)).toEqual(Array.from(want));
    const mu = await engine.prior(codes, new Float32Array(S * T).fill(1), T, all);
    const ref = decodeLinear(linear, want, T, S);
    const err = maxAbsDiff(mu, ref);
    expect(err).toBeLessThan(1e-5); // float32 sums vs the reference's float64: measured 3e-7
    // Fewer stages: the masked prior is the linear decode of the codes' prefix.
    const prefixDecode = (n: number) => decodeLinear(linear, Uint16Array.from({ length: T * n }, (_, i) => want[Math.floor(i / n) * S + (i % n)]), T, n);
    const half = S / 2;
    const mask = Float32Array.from({ length: S * T }, (_, i) => (Math.floor(i / T) < half ? 1 : 0));
    expect(maxAbsDiff(await engine.prior(codes, mask, T, all), prefixDecode(half))).toBeLessThan(1e-4);
    // A stage count per frame (rate allocation): frame t decodes as the prefix of its own count.
    const count = (t: number) => 1 + (t % S);
    const perFrame = Float32Array.from({ length: S * T }, (_, i) => (Math.floor(i / T) < count(i % T) ? 1 : 0));
    const byCount = Array.from({ length: S }, (_, n) => prefixDecode(n + 1));
    const nM = C.nMels;
    const ref2 = Float32Array.from({ length: T * nM }, (_, i) => byCount[count(Math.floor(i / nM)) - 1][i]);
    expect(maxAbsDiff(await engine.prior(codes, perFrame, T, all), ref2)).toBeLessThan(1e-4);
    engine.dispose();
  });

  it("keeps the linear codebooks (no step-0 k-means); a few steps change the weights and codebooks", async () => {
    const task = warmTask(3);
    const before = toHost(task.params());
    const books = toHost(task.buffersOf());
    expect(task.buffersLoaded).toBe(true);
    task.initCodebooks = () => {
      throw new Error("k-means would replace the linear codec's codebooks");
    };
    const out = mkdtempSync(join(tmpdir(), "flowmac-warm-run-"));
    await runTraining(task, { out, steps: 3, seed: 3, logEvery: 1, valEvery: 100, ckptEvery: 100, quiet: true, validateFirst: true });
    const log = readFileSync(join(out, "log.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const firstVal = log.find((e: Record<string, unknown>) => "val_prior" in e);
    expect(firstVal).toMatchObject({ step: 0 });
    expect(firstVal.val_prior).toBeGreaterThan(0);
    const after = toHost(task.params());
    for (const name of ["linearPath.v", "linearPath.m", "encoder.outProj.w", "decoder.outProj.w", "cfm.finalProj.w"])
      expect(maxAbsDiff(after.get(name)!.data, before.get(name)!.data), name).toBeGreaterThan(0);
    expect(maxAbsDiff(toHost(task.buffersOf()).get("codebooks.0")!.data, books.get("codebooks.0")!.data)).toBeGreaterThan(0);
  });

  it("resumes bit for bit: 4 steps == 2 steps + resume + 2 steps", async () => {
    const run = (out: string, n: number, resume?: string) => runTraining(warmTask(4), { out, steps: n, seed: 3, logEvery: 1, valEvery: 1000, ckptEvery: 1000, resume, quiet: true });
    const a = mkdtempSync(join(tmpdir(), "flowmac-warm-a-"));
    const b = mkdtempSync(join(tmpdir(), "flowmac-warm-b-"));
    await run(a, 4);
    await run(b, 2);
    await run(b, 4, checkpointPath(b));
    const ta = parseSafeTensors(new Uint8Array(readFileSync(checkpointPath(a)))).tensors;
    const tb = parseSafeTensors(new Uint8Array(readFileSync(checkpointPath(b)))).tensors;
    expect([...tb.keys()]).toEqual([...ta.keys()]);
    expect(ta.has("params.codec.linearPath.v")).toBe(true);
    for (const [name, t] of ta) expect(Buffer.compare(Buffer.from(t.data.buffer), Buffer.from(tb.get(name)!.data.buffer)), name).toBe(0);
  });

  it("the ONNX and jax engines give the same codes and priors for a trained tiny-lin model", async () => {
    const task = warmTask(3);
    await runTraining(task, { out: mkdtempSync(join(tmpdir(), "flowmac-warm-onnx-")), steps: 3, seed: 3, logEvery: 1, valEvery: 100, ckptEvery: 100, quiet: true });
    const m = modelOf(task);
    const { jax: jaxE, onnx: onnxE } = await enginePair(m);
    const audio = testSignal(4);
    const a = await encodeAudio(jaxE, audio);
    const b = await encodeAudio(onnxE, audio);
    expect(b.codes).toEqual(a.codes);
    const o = { steps: 2, guidance: 1, temperature: 1, seed: 1 };
    const mj = await decodeMel(jaxE, a.codes, a.frames, a.stages, o);
    const mo = await decodeMel(onnxE, a.codes, a.frames, a.stages, o);
    expect(maxAbsDiff(mo, mj) / maxAbsDiff(mj, new Float32Array(mj.length))).toBeLessThan(1e-4);
    jaxE.dispose();
    onnxE.dispose();
  });

  it("refuses a linear codec of other sizes, or a config without linear paths", () => {
    expect(() => warmTask(1, CODEC_CONFIGS.tiny)).toThrow(/config 'tiny' has no linear paths/);
    const wider = { ...C, rvq: { ...C.rvq, dim: 16 } };
    expect(() => warmTask(1, wider)).toThrow(/the linear codec has dim 8; config 'tiny-lin' needs dim 16/);
  });
});

describe("flowmac train codec --init-linear / --init-cfm / --prior-weight", () => {
  let dir: string;
  let linearFile: string;
  let model: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "flowmac-warm-cli-"));
    linearFile = join(dir, "linear.safetensors");
    writeFileSync(linearFile, serializeLinearCodec(linear));
    model = await writeTinyModelDir(join(dir, "model"), 4);
  });

  it("warm-starts a run with the linear codec's statistics, the model's CFM and the given prior weight; it resumes with them", () => {
    const out = join(dir, "run");
    const r = runCli(dir, "train", "codec", "--data", corpus, "--config", "tiny-lin", "--init-linear", linearFile, "--init-cfm", model, "--prior-weight", "0.5", "--stage-dropout", "1", "--out", out, "--steps", "2", "--val-every", "2");
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const log = readFileSync(join(out, "log.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const firstVal = log.find((e: Record<string, unknown>) => "val_prior" in e);
    expect(firstVal).toMatchObject({ step: 0 }); // validation of the starting point
    expect(firstVal.val_prior).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(out, "stats.json"), "utf8"))).toEqual(linear.stats);
    const w = readCheckpointFile(join(out, "weights.safetensors"), "codec");
    expect((w.config as CodecConfig).loss.prior).toBe(0.5);
    expect((w.config as CodecConfig).rvq.dropoutProb).toBe(1);
    expect(JSON.parse(w.metadata.mel_stats)).toEqual(linear.stats);
    // Resumed without the flags: the run's own config (prior weight) and statistics.
    const res = runCli(dir, "train", "codec", "--data", corpus, "--out", out, "--steps", "3", "--resume", checkpointPath(out));
    expect(res.code).toBe(0);
    const w3 = readCheckpointFile(join(out, "weights.safetensors"), "codec");
    expect(w3.metadata.step).toBe("3");
    expect((w3.config as CodecConfig).loss.prior).toBe(0.5);
    expect((w3.config as CodecConfig).rvq.dropoutProb).toBe(1);
    expect(JSON.parse(w3.metadata.mel_stats)).toEqual(linear.stats);
  });

  it("refuses conflicting or unfit warm starts with one line", () => {
    const out = join(dir, "bad");
    const cli = (...args: string[]) => runCli(dir, "train", "codec", "--data", corpus, "--out", out, "--steps", "1", ...args);
    expectCleanFailure(dir, cli("--config", "tiny", "--init-linear", linearFile), /config 'tiny' has no linear paths/);
    expectCleanFailure(dir, cli("--init-linear", linearFile), /the linear codec has dim 8, stages 4, codebookSize 64; config 'small-lin' needs dim 16, stages 8, codebookSize 256/);
    expectCleanFailure(dir, cli("--config", "tiny-lin", "--init-linear", join(dir, "missing.safetensors")), /missing\.safetensors: cannot read the linear codec file/);
    expectCleanFailure(dir, cli("--config", "tiny-lin", "--init-linear", linearFile, "--init", model), /--init-linear and --init exclude each other/);
    expectCleanFailure(dir, cli("--config", "tiny-lin", "--init-linear", linearFile, "--stats", join(out, "stats.json")), /--stats and --init-linear exclude each other/);
    expectCleanFailure(dir, cli("--config", "small-lin", "--init-cfm", model), /its CFM decoder \(config 'tiny'\) differs from config 'small-lin''s in channels, headDim, groups, timeEmbDim/);
    expectCleanFailure(dir, cli("--config", "tiny-lin", "--prior-weight", "-1"), /--prior-weight must be a number from 0 to 1000/);
    expectCleanFailure(dir, cli("--config", "tiny-lin", "--stage-dropout", "1.5"), /--stage-dropout must be a number from 0 to 1/);
  });
});
