/**
 * The training loop shared by the codec and the vocoder: steps, learning-rate
 * schedules, EMA, JSONL logging, a progress bar with ETA, validation every K
 * steps, checkpoints every K steps and on Ctrl-C, resume from a full
 * checkpoint (bit-for-bit) or from weights alone.
 */
import type { SamplingOptions } from "./data.js";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { emaUpdate, initAdamState, learningRate, uploadLike, type AdamState, type AdamW, type Schedule } from "../nn/optim.js";
import { hasTree, hostTree, readCheckpointFile, restoreHost, restoreState, restoreTree, saveCheckpoint, type HostTree, type LoadedFile } from "../nn/checkpoint.js";
import type { Params } from "../nn/params.js";
import { Rng } from "../nn/rng.js";
import { tree, type JArray } from "../nn/runtime.js";
import { progressBar } from "../cli/progress.js";

/** The settings of a training run that are not the model's (one per model config). */
export interface TrainSettings {
  batch: number;
  /** Crop length in mel frames. */
  frames: number;
  steps: number;
  /** Peak learning rate. */
  lr: number;
  warmup: number;
  /** EMA decay of the shipped weights (0: none). */
  emaDecay: number;
  /** Random gain in dB (+-) applied to each crop. */
  gainDb: number;
  valClips: number;
  /** Validation crop length in frames (default: the training crop length). */
  valFrames?: number;
  /** Clips shorter than a crop are packed with others of their source (train/pack.ts) instead of left out. */
  packShort?: boolean;
  /** Speaker perturbation (codec): each crop's spectrum scaled in frequency by a factor in [1 / (1 + warp), 1 + warp]; 0 or absent: off. */
  warp?: number;
  /** How draws are shared between kinds and between the sources of a kind (data.ts); absent: by duration, KIND_WEIGHTS. */
  sampling?: SamplingOptions;
}

export interface TrainGroup {
  params: Params;
  opt: AdamW;
  adam: AdamState;
  schedule: Schedule;
  /** EMA of the weights on the host (what ships), when emaDecay > 0. */
  ema: Float32Array[] | null;
  emaDecay: number;
  /** Set by stepOnHost: the host weights (adam.w) moved on and params lags them until syncDeviceParams. */
  deviceStale?: boolean;
}

/**
 * One optimiser step from host gradients (the onnx training engines): the optimiser's host weights
 * move on alone; the device copy is refreshed when jax-js next needs it (syncDeviceParams). Returns
 * the gradient norm.
 */
export function stepOnHost(g: TrainGroup, grads: ArrayLike<number>[], lr: number): number {
  const gradNorm = g.opt.stepHost(grads, g.adam, lr);
  g.deviceStale = true;
  return gradNorm;
}

/** g.params (device arrays) again equal to the optimiser's host weights after host steps. */
export function syncDeviceParams(g: TrainGroup): void {
  if (!g.deviceStale) return;
  const old = g.params;
  g.params = uploadLike(old, g.adam.w, g.adam.shapes);
  tree.dispose(old);
  g.deviceStale = false;
}

/** The weights to evaluate or ship: the EMA where kept (fresh device arrays; the caller disposes them). */
export function evalParams(g: TrainGroup): Params {
  syncDeviceParams(g);
  return g.ema ? uploadLike(g.params, g.ema, g.adam.shapes) : (tree.map((a: JArray) => a.ref.add(0), tree.ref(g.params)) as Params);
}

function shippedTree(g: TrainGroup): HostTree {
  return hostTree(g.adam.names, g.adam.shapes, g.ema ?? g.adam.w);
}

export interface TrainTask {
  model: string;
  config: unknown;
  groups: Record<string, TrainGroup>;
  /** Non-gradient state saved with the weights (RVQ codebooks). */
  buffers: Params | null;
  /** Whether the buffers came from a file (the codec then keeps its codebooks instead of initialising them). */
  buffersLoaded?: boolean;
  /** Where the steps compute (logged with the run), when the task has a choice. */
  engine?: string;
  /** One optimisation step at `step` (0-based); returns the scalars to log. */
  step(step: number, rng: Rng): Record<string, number> | Promise<Record<string, number>>;
  validate(): Record<string, number>;
  /** Validate before the first step of a fresh run too (where step 0's numbers are a baseline worth logging). */
  validateAtStart?: boolean;
  /** Extra metadata for the exported weights (e.g. mel statistics). */
  info(): Record<string, string>;
}

export interface RunOptions {
  out: string;
  steps: number;
  seed: number;
  logEvery: number;
  valEvery: number;
  ckptEvery: number;
  resume?: string;
  /** Start from the weights of this model or run file (fine-tuning: fresh optimiser, step 0). */
  init?: string;
  /** Stop (with a checkpoint) after this many hours of wall time. */
  maxHours?: number;
  /** Validate before the first step of a run that starts at step 0 (where a warm start begins). */
  validateFirst?: boolean;
  quiet?: boolean;
}

export function newGroup(params: Params, opt: AdamW, schedule: Schedule, emaDecay: number): TrainGroup {
  const adam = initAdamState(params);
  return { params, opt, adam, schedule, ema: emaDecay > 0 ? adam.w.map((w) => Float32Array.from(w)) : null, emaDecay };
}

export function checkpointPath(out: string): string {
  return join(out, "checkpoint.safetensors");
}

export function weightsPath(out: string): string {
  return join(out, "weights.safetensors");
}

/** Full state: weights, EMA, Adam moments, step and RNG. */
export function saveFull(task: TrainTask, out: string, step: number, rng: Rng): void {
  const trees: Record<string, Params | HostTree> = {};
  const state: Record<string, ArrayLike<number>> = { step: [step], rng: rng.getState() };
  for (const [g, grp] of Object.entries(task.groups)) {
    const { names, shapes } = grp.adam;
    trees[`params.${g}`] = hostTree(names, shapes, grp.adam.w);
    if (grp.ema) trees[`ema.${g}`] = hostTree(names, shapes, grp.ema);
    trees[`opt.m.${g}`] = hostTree(names, shapes, grp.adam.m);
    trees[`opt.v.${g}`] = hostTree(names, shapes, grp.adam.v);
    state[`opt_step.${g}`] = [grp.adam.step];
  }
  if (task.buffers) trees.buffers = task.buffers;
  saveCheckpoint(checkpointPath(out), { model: task.model, config: task.config, trees, state, info: { step: String(step), ...task.info() } });
}

/** Weights only (EMA where kept), the form that ships and that `--resume` also accepts. */
export function saveWeights(task: TrainTask, path: string, step: number, extra: Record<string, string> = {}): void {
  const trees: Record<string, Params | HostTree> = {};
  for (const [g, grp] of Object.entries(task.groups)) trees[`params.${g}`] = shippedTree(grp);
  if (task.buffers) trees.buffers = task.buffers;
  saveCheckpoint(path, { model: task.model, config: task.config, trees, state: { step: [step] }, info: { step: String(step), ...task.info(), ...extra } });
}

function replace<T extends Params>(old: T, next: T): T {
  tree.dispose(old);
  return next;
}

/**
 * Loads the weights (and buffers) of a checkpoint or weights file into a task;
 * with `full`, also the EMA and the Adam state. Groups a weights-only file
 * lacks (the discriminators) keep their fresh initialisation.
 */
function restoreWeights(task: TrainTask, file: LoadedFile, full: boolean): void {
  for (const [g, grp] of Object.entries(task.groups)) {
    if (!hasTree(file, `params.${g}`)) {
      if (full) throw new Error(`${file.source}: no weights for '${g}'`);
      continue; // weights-only files carry no discriminator: it starts afresh
    }
    grp.params = replace(grp.params, restoreTree(file, `params.${g}`, grp.params));
    const { names, shapes } = grp.adam;
    grp.adam.w = restoreHost(file, `params.${g}`, names, shapes);
    if (full) {
      if (grp.ema) grp.ema = restoreHost(file, `ema.${g}`, names, shapes);
      grp.adam.m = restoreHost(file, `opt.m.${g}`, names, shapes);
      grp.adam.v = restoreHost(file, `opt.v.${g}`, names, shapes);
      grp.adam.step = restoreState(file, `opt_step.${g}`)?.[0] ?? 0;
    } else if (grp.ema) {
      grp.ema = grp.adam.w.map((w) => Float32Array.from(w));
    }
  }
  if (task.buffers && hasTree(file, "buffers")) {
    task.buffers = replace(task.buffers, restoreTree(file, "buffers", task.buffers));
    task.buffersLoaded = true;
  }
}

/** Restores a task from a full checkpoint or a weights-only file; returns the step to continue from. */
export function restore(task: TrainTask, file: LoadedFile, rng: Rng): number {
  const step = restoreState(file, "step")?.[0] ?? 0;
  const full = hasTree(file, "opt.m." + Object.keys(task.groups)[0]);
  restoreWeights(task, file, full);
  const rs = restoreState(file, "rng");
  if (full && rs) rng.setState(rs);
  else rng.setState(new Rng(step + 1).getState()); // weights only: a fresh but deterministic stream
  return step;
}

/**
 * Starts a task from trained weights (fine-tuning): the weights and buffers of
 * a model or run file, a fresh optimiser, step 0; the RNG stays the seed's.
 * A full checkpoint's optimiser state and step are ignored.
 */
export function initFromWeights(task: TrainTask, file: LoadedFile): void {
  restoreWeights(task, file, false);
}

function fmt(m: Record<string, number>): string {
  return Object.entries(m)
    .filter(([k]) => !k.startsWith("ppl"))
    .map(([k, v]) => `${k} ${Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)}`)
    .join(" ");
}

/** Lets pending signals (Ctrl-C) reach their handlers: the loop below is otherwise fully synchronous. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runTraining(task: TrainTask, o: RunOptions): Promise<{ step: number; stopped: boolean }> {
  mkdirSync(o.out, { recursive: true });
  const logPath = join(o.out, "log.jsonl");
  const rng = new Rng(o.seed);
  let step = 0;
  if (o.resume) {
    step = restore(task, readCheckpointFile(o.resume, task.model), rng);
    // Entries past the checkpoint (from a run that went on after it) would be logged twice.
    if (existsSync(logPath)) {
      const kept = readFileSync(logPath, "utf8").split("\n").filter((l) => l.trim() && !((JSON.parse(l) as { step?: number }).step! > step));
      writeFileSync(logPath, kept.map((l) => l + "\n").join(""));
    }
    appendFileSync(logPath, JSON.stringify({ event: "resume", from: o.resume, step, engine: task.engine, time: new Date().toISOString() }) + "\n");
  } else {
    if (existsSync(logPath)) writeFileSync(logPath, "");
    writeFileSync(join(o.out, "config.json"), JSON.stringify({ model: task.model, config: task.config, run: o, engine: task.engine }, null, 1));
    appendFileSync(logPath, JSON.stringify({ event: "start", step, engine: task.engine, time: new Date().toISOString() }) + "\n");
    if (o.init) {
      initFromWeights(task, readCheckpointFile(o.init, task.model));
      appendFileSync(logPath, JSON.stringify({ event: "init", from: o.init, time: new Date().toISOString() }) + "\n");
    }
  }
  let interrupted = false;
  const onSigint = () => {
    interrupted = true;
  };
  process.on("SIGINT", onSigint);
  process.on("SIGTERM", onSigint);
  const t0 = Date.now();
  const validate = (at: number) => {
    const val = task.validate();
    appendFileSync(logPath, JSON.stringify({ step: at, time: (Date.now() - t0) / 1000, ...Object.fromEntries(Object.entries(val).map(([k, v]) => [`val_${k}`, v])) }) + "\n");
  };
  // A warm start's (or a task's own) step-0 numbers are the baseline its curve starts from.
  if (step === 0 && (o.validateFirst || task.validateAtStart)) validate(0);
  const bar = o.quiet ? { update() {}, stop() {} } : progressBar(`train ${task.model}`, o.steps);
  bar.update(step);
  let stopped = false;
  try {
    while (step < o.steps) {
      await yieldToEventLoop();
      const ts = Date.now();
      const metrics = await task.step(step, rng);
      for (const grp of Object.values(task.groups)) {
        if (grp.ema && grp.adam.step > 0) {
          // Warm the EMA up: early weights move too fast for a 0.999 average.
          emaUpdate(grp.ema, grp.adam.w, Math.min(grp.emaDecay, (1 + grp.adam.step) / (10 + grp.adam.step)));
        }
      }
      step++;
      const lr = learningRate(Object.values(task.groups)[0].schedule, step - 1);
      if (step % o.logEvery === 0 || step === 1)
        appendFileSync(logPath, JSON.stringify({ step, time: (Date.now() - t0) / 1000, stepMs: Date.now() - ts, lr, ...metrics }) + "\n");
      bar.update(step, { [""]: fmt(metrics) });
      if (step % o.valEvery === 0 || step === o.steps) validate(step);
      const outOfTime = o.maxHours !== undefined && (Date.now() - t0) / 3.6e6 >= o.maxHours;
      if (step % o.ckptEvery === 0 || step === o.steps || interrupted || outOfTime) {
        saveFull(task, o.out, step, rng);
        saveWeights(task, weightsPath(o.out), step);
      }
      if (interrupted || outOfTime) {
        stopped = true;
        break;
      }
    }
  } finally {
    bar.stop();
    process.off("SIGINT", onSigint);
    process.off("SIGTERM", onSigint);
  }
  return { step, stopped };
}
