import type { Command } from "commander";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { MelStatsAccumulator, parseMelStats, type MelStats } from "../../audio/stats.js";
import { CODEC_CONFIGS } from "../../model/config.js";
import { VOCODER_CONFIGS } from "../../model/vocoder.js";
import { initJax } from "../../nn/runtime.js";
import { CODEC_TRAIN, createCodecTask, TRAIN_ENGINES, type TrainEngine } from "../../train/codec-task.js";
import { loadClips, type Clip } from "../../train/data.js";
import { runTraining, type TrainSettings, type TrainTask } from "../../train/runner.js";
import { createVocoderTask, VOCODER_TRAIN } from "../../train/vocoder-task.js";
import { UserError } from "../../util/errors.js";
import { writeFileAtomic } from "../../util/files.js";
import { keepDefaultSignals } from "../interrupt.js";
import { parseChoice, parseFloatOption, parseIntOption } from "../options.js";

interface TrainOpts {
  data: string;
  stats?: string;
  config: string;
  out: string;
  steps?: number;
  batch?: number;
  frames?: number;
  lr?: number;
  seed: number;
  resume?: string;
  maxHours?: number;
  valEvery: number;
  ckptEvery: number;
  logEvery: number;
  engine: TrainEngine;
}

function statsFor(o: TrainOpts, train: Clip[]): MelStats {
  if (o.stats) {
    if (!existsSync(o.stats)) throw new UserError(`${o.stats}: no such file`);
    return parseMelStats(readFileSync(o.stats, "utf8"), o.stats);
  }
  const acc = new MelStatsAccumulator(128);
  for (const c of train) acc.add(c.mel);
  const s = acc.result();
  mkdirSync(o.out, { recursive: true });
  writeFileAtomic(join(o.out, "stats.json"), JSON.stringify(s) + "\n");
  return s;
}

function common(cmd: Command, configs: string[], defaultConfig: string): Command {
  return cmd
    .requiredOption("--data <dir>", "corpus directory (made by 'flowmac corpus')")
    .requiredOption("--out <run-dir>", "run directory: log.jsonl, checkpoint.safetensors, weights.safetensors")
    .option("--config <name>", `model config: ${configs.join(", ")}`, parseChoice("config", configs), defaultConfig)
    .option("--steps <n>", "total training steps", parseIntOption("steps", 1, 10_000_000))
    .option("--batch <n>", "batch size", parseIntOption("batch", 1, 256))
    .option("--frames <n>", "crop length in mel frames", parseIntOption("frames", 4, 4096))
    .option("--lr <x>", "peak learning rate", parseFloatOption("lr", 1e-7, 1))
    .option("--seed <n>", "random seed", parseIntOption("seed", 0, 2 ** 31 - 1), 0)
    .option("--resume <file>", "continue from a checkpoint (bit-for-bit) or a weights file")
    .option("--max-hours <h>", "stop with a checkpoint after this much wall time", parseFloatOption("max-hours", 0.001, 1000))
    .option("--val-every <n>", "validate every n steps", parseIntOption("val-every", 1, 1e9), 250)
    .option("--ckpt-every <n>", "checkpoint every n steps", parseIntOption("ckpt-every", 1, 1e9), 100)
    .option("--log-every <n>", "log every n steps", parseIntOption("log-every", 1, 1e9), 10);
}

/** The corpus splits and the run settings: the config's defaults with the command line's overrides. */
async function prepare(o: TrainOpts, defaults: TrainSettings): Promise<{ train: Clip[]; val: Clip[]; t: TrainSettings }> {
  await initJax();
  const train = loadClips(o.data, "train", (m) => console.error(m));
  const val = loadClips(o.data, "validation", (m) => console.error(m));
  const t = { ...defaults };
  if (o.batch) t.batch = o.batch;
  if (o.frames) t.frames = o.frames;
  if (o.lr) t.lr = o.lr;
  if (o.steps) t.steps = o.steps;
  return { train, val, t };
}

async function run(task: TrainTask, o: TrainOpts, steps: number): Promise<void> {
  console.error(`training ${task.model} (${o.config}) on the ${task.engine ?? "jax"} engine`);
  const res = await runTraining(task, { out: o.out, steps, seed: o.seed, logEvery: o.logEvery, valEvery: o.valEvery, ckptEvery: o.ckptEvery, resume: o.resume, maxHours: o.maxHours });
  console.log(`${o.out}: ${res.stopped ? "stopped" : "finished"} at step ${res.step}`);
}

export function registerTrain(program: Command): void {
  // Training handles SIGINT and SIGTERM itself: it checkpoints, then stops (src/train/runner.ts).
  const train = keepDefaultSignals(program.command("train").description("train the codec or the vocoder"));
  common(train.command("codec").description("train the codec model (encoder, RVQ, decoder, CFM) jointly"), Object.keys(CODEC_TRAIN), "small")
    .option("--stats <stats.json>", "mel statistics (default: computed from the training split)")
    .option("--engine <name>", "where loss and gradients are computed: jax (reference) or onnx (the exported step on onnxruntime)", parseChoice("engine", TRAIN_ENGINES), "jax")
    .action(async (o: TrainOpts) => {
      const { train: clips, val, t } = await prepare(o, CODEC_TRAIN[o.config]);
      await run(createCodecTask(CODEC_CONFIGS[o.config], t, clips, val, statsFor(o, clips), o.seed, o.engine), o, t.steps);
    });
  common(train.command("vocoder").description("train the mel-to-audio vocoder (GAN)"), Object.keys(VOCODER_TRAIN), "vocos-small").action(async (o: TrainOpts) => {
    const { train: clips, val, t } = await prepare(o, VOCODER_TRAIN[o.config]);
    await run(createVocoderTask(VOCODER_CONFIGS[o.config], t, clips, val, o.seed), o, t.steps);
  });
}
