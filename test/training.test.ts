import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initJax } from "../src/nn/runtime.js";
import { CODEC_CONFIGS } from "../src/model/config.js";
import { VOCODER_CONFIGS } from "../src/model/vocoder.js";
import { CODEC_TRAIN, createCodecTask } from "../src/train/codec-task.js";
import { createVocoderTask, VOCODER_TRAIN } from "../src/train/vocoder-task.js";
import { clipMel, loadClips, type Clip } from "../src/train/data.js";
import { checkpointPath, runTraining, weightsPath, type TrainTask } from "../src/train/runner.js";
import { MelStatsAccumulator, type MelStats } from "../src/audio/stats.js";
import { parseSafeTensors } from "../src/util/safetensors.js";
import { makeToyCorpus } from "./toy-corpus.js";

let train: Clip[];
let val: Clip[];
let stats: MelStats;

beforeAll(async () => {
  await initJax();
  const dir = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-corpus-")));
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
