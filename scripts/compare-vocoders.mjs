#!/usr/bin/env node
/**
 * Vocos vs BigVGAN at equal compute: trains each generator (mel loss only, the
 * first phase of both recipes) in turns of one step on the same corpus, until
 * each has used the same CPU time, then reports the validation mel L1 and the
 * inference speed. Usage: node scripts/compare-vocoders.mjs <corpus> [minutes per model]
 */
import "core-js/actual/iterator/index.js";
import { cpuUsage } from "node:process";

const corpus = process.argv[2];
const minutes = Number(process.argv[3] ?? 10);
const { initJax } = await import("../dist/src/nn/runtime.js");
const { Rng } = await import("../dist/src/nn/rng.js");
const { loadClips } = await import("../dist/src/train/data.js");
const { VOCODER_CONFIGS } = await import("../dist/src/model/vocoder.js");
const { VOCODER_TRAIN, createVocoderTask } = await import("../dist/src/train/vocoder-task.js");
await initJax();
const train = loadClips(corpus, "train");
const val = loadClips(corpus, "validation");
// The weights are evaluated as trained (no EMA: this loop is not the runner that keeps one).
// BigVGAN's audio-rate activations need ~16x the memory and time per sample: a batch of
// 8 x 32 frames does not fit jax-js's 4 GiB wasm memory, so it trains on 1 x 16 frames.
const runs = [
  { name: "vocos-small", t: { ...VOCODER_TRAIN["vocos-small"], valClips: 16, valFrames: 48, emaDecay: 0 } },
  { name: "bigvgan-small", t: { ...VOCODER_TRAIN["bigvgan-small"], batch: 1, frames: 16, valClips: 16, valFrames: 48, emaDecay: 0 } },
].map((r) => {
  const c = { ...VOCODER_CONFIGS[r.name], ganStart: 1e9 };
  return { ...r, task: createVocoderTask(c, { ...r.t, steps: 100000 }, train, val, 0), rng: new Rng(0), cpu: 0, steps: 0 };
});
const budget = minutes * 60e6; // microseconds of CPU time
while (runs.some((r) => r.cpu < budget)) {
  for (const r of runs) {
    if (r.cpu >= budget) continue;
    const c0 = cpuUsage();
    r.task.step(r.steps, r.rng);
    const c1 = cpuUsage(c0);
    r.cpu += c1.user + c1.system;
    r.steps++;
  }
}
for (const r of runs) {
  const v = r.task.validate();
  console.log(`${r.name}: ${r.steps} steps (batch ${r.t.batch} x ${r.t.frames} frames) in ${(r.cpu / 60e6).toFixed(1)} CPU-minutes -> validation mel L1 ${v.mel.toFixed(3)}`);
}
