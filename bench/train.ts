/**
 * Wall time of real training steps with the shipped recipes (codec `small`,
 * vocoder `vocos-small` in its mel-loss and GAN phases, the shipped refiner-small), on
 * synthetic clips; the codec and the refiner on both training engines (jax-js, onnxruntime), in turns.
 * One model per process: two models' jax-js buffers together exceed the
 * 4 GiB wasm memory. `node dist/bench/train.js codec|refiner|vocos [--quick]` prints
 * one JSON line of rows; bench/run.ts spawns it once per model.
 */
import "core-js/actual/iterator/index.js";
import { MelFrontEnd } from "../src/audio/mel.js";
import { MelStatsAccumulator } from "../src/audio/stats.js";
import { CODEC_CONFIGS } from "../src/model/config.js";
import { VOCODER_CONFIGS } from "../src/model/vocoder.js";
import { Rng } from "../src/nn/rng.js";
import { initJax } from "../src/nn/runtime.js";
import { CODEC_TRAIN, createCodecTask, TRAIN_ENGINES } from "../src/train/codec-task.js";
import { clipMel, memoryClip, type Clip } from "../src/train/data.js";
import type { TrainTask } from "../src/train/runner.js";
import { createVocoderTask, VOCODER_TRAIN } from "../src/train/vocoder-task.js";
import { REFINER_CONFIGS } from "../src/model/refiner.js";
import { createRefinerTask, REFINER_TRAIN } from "../src/train/refiner-task.js";
import { bestOf, speech, type BenchRow } from "./util.js";

/** Clips of the benchmarks' speech-like signal: training speed does not depend on content. */
function syntheticClips(count: number, seconds: number): Clip[] {
  const audio = speech(seconds);
  const mel = new MelFrontEnd().compute(audio);
  return Array.from({ length: count }, (_, i) =>
    memoryClip({ id: `synthetic-${i}`, path: "", source: "bench", package: "none", licence: "CC0", kind: "speech-real", seconds, split: "train" }, audio, mel),
  );
}

/** Best of `n` timed steps after two warm-up steps (jit compilation), starting at `from`. */
function timeSteps(task: TrainTask, from: number, n: number): number {
  const rng = new Rng(1);
  let step = from;
  return bestOf(() => task.step(step++, rng), n, 2);
}

/**
 * Best step time of each task, timed in turns (one step of each, `n` rounds,
 * after two untimed warm-up steps each: jit compilation, graph export), so that
 * a noisy machine slows both alike.
 */
async function alternateSteps(tasks: TrainTask[], n: number): Promise<number[]> {
  const rngs = tasks.map(() => new Rng(1));
  const best = tasks.map(() => Infinity);
  for (let step = 0; step < n + 2; step++) {
    for (let i = 0; i < tasks.length; i++) {
      const t0 = performance.now();
      await tasks[i].step(step, rngs[i]);
      if (step >= 2) best[i] = Math.min(best[i], performance.now() - t0);
    }
  }
  return best;
}

export async function benchTraining(model: string, quick: boolean): Promise<BenchRow[]> {
  await initJax();
  const clips = syntheticClips(4, 4);
  const n = quick ? 1 : 3;
  const row = (name: string, ms: number): BenchRow => ({ name, value: ms, unit: "ms per step", ms });
  if (model === "codec") {
    const stats = new MelStatsAccumulator(128);
    for (const c of clips) stats.add(clipMel(c));
    const t = CODEC_TRAIN.small;
    const tasks = TRAIN_ENGINES.map((engine) => createCodecTask(CODEC_CONFIGS.small, t, clips, clips, stats.result(), 0, { engine }));
    const ms = await alternateSteps(tasks, quick ? 3 : 6);
    const rows = TRAIN_ENGINES.map((engine, i) => row(`codec small training step, ${engine} engine (batch ${t.batch} x ${t.frames} frames, incl. AdamW and RVQ upkeep)`, ms[i]));
    const ratio = ms[0] / ms[1];
    rows.push({ name: "codec small training step: jax / onnx (same run, alternating)", value: ratio, unit: "x faster on onnx", ms: ms[1] });
    return rows;
  }
  if (model === "refiner") {
    // The shipped vocoder's training step (host NNLS prior and target STFT included), on both engines in turns.
    const c = REFINER_CONFIGS["refiner-small"];
    const t = REFINER_TRAIN["refiner-small"];
    const tasks = await Promise.all(TRAIN_ENGINES.map((engine) => createRefinerTask(c, t, clips, clips.slice(0, 1), 0, null, engine)));
    const ms = await alternateSteps(tasks, quick ? 3 : 6);
    const rows = TRAIN_ENGINES.map((engine, i) => row(`refiner-small training step, ${engine} engine (batch ${t.batch} x ${t.frames} frames, incl. host NNLS prior, target STFT, AdamW)`, ms[i]));
    rows.push({ name: "refiner-small training step: jax / onnx (same run, alternating)", value: ms[0] / ms[1], unit: "x faster on onnx", ms: ms[1] });
    return rows;
  }
  if (model === "vocos") {
    const c = VOCODER_CONFIGS["vocos-small"];
    const t = VOCODER_TRAIN["vocos-small"];
    const task = createVocoderTask(c, t, clips, clips, 0);
    return [
      row(`vocos-small training step, mel-loss phase (batch ${t.batch} x ${t.frames} frames)`, timeSteps(task, 0, n)),
      row("vocos-small training step, GAN phase (+ discriminators)", timeSteps(task, c.ganStart, n)),
    ];
  }
  throw new Error(`bench/train: unknown model ${model}`);
}

if (process.argv[1]?.endsWith("train.js")) {
  const [model] = process.argv.slice(2);
  console.log(JSON.stringify(await benchTraining(model, process.argv.includes("--quick"))));
}
