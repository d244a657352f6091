/** Training task for the codec (encoder + RVQ + decoder + CFM, jointly), plugged into the shared runner. */
import { bandWarp, drawWarpFactor, warpLogMel } from "../audio/mel-warp.js";
import { normalizeMel, type MelStats } from "../audio/stats.js";
import { codecLoss, encoderLatent, initCodec, sampleCodecBatch, sampleCodecBatchHost, type CodecBuffers, type CodecParams } from "../model/codec.js";
import type { CodecConfig } from "../model/config.js";
import { codePerplexity, emaCodebookUpdate, kmeans } from "../model/rvq.js";
import { sinusoidalEmbedding } from "../nn/layers.js";
import { AdamW, learningRate } from "../nn/optim.js";
import type { Params } from "../nn/params.js";
import { Rng } from "../nn/rng.js";
import { jit, np, tree, valueAndGrad, type JArray } from "../nn/runtime.js";
import { UserError } from "../util/errors.js";
import { ClipSampler, cropAt, randomCrop, type Clip } from "./data.js";
import { ClipPacker, MIN_PACKED_FRAMES } from "./pack.js";
import { OnnxCodecStep } from "./onnx-step.js";
import { evalParams, newGroup, stepOnHost, syncDeviceParams, type TrainSettings, type TrainTask } from "./runner.js";
import { cfmFrom, checkLinearFits, linearCodebookBuffers, linearPathFrom, type CodecStart } from "./warm-start.js";

export type CodecTrainConfig = TrainSettings;

export const CODEC_TRAIN: Record<string, CodecTrainConfig> = {
  // No EMA of the codec weights: the RVQ codebooks follow the online encoder, and an
  // averaged encoder would no longer match them. The cosine decay does the smoothing.
  small: { batch: 8, frames: 128, steps: 20000, lr: 3e-4, warmup: 500, emaDecay: 0, gainDb: 6, valClips: 16 },
  tiny: { batch: 2, frames: 16, steps: 50, lr: 2e-3, warmup: 5, emaDecay: 0, gainDb: 0, valClips: 2 },
};
for (const name of ["small", "tiny"]) CODEC_TRAIN[`${name}-lin`] = { ...CODEC_TRAIN[name] };
CODEC_TRAIN["small-lin64"] = { ...CODEC_TRAIN.small };
// The 16-stage (6 kbit/s) model made by extend-stages trains on the same settings (issue 21).
CODEC_TRAIN["small-lin64-cq16"] = { ...CODEC_TRAIN.small };

/** Training frames coded by the linear codec to estimate its codes' use per batch (warm start). */
const USAGE_BATCHES = 8;

const LOG_FLOOR = Math.log(1e-5);

function sameStats(a: MelStats, b: MelStats): boolean {
  return a.bands === b.bands && a.mean.every((v, i) => v === b.mean[i]) && a.std.every((v, i) => v === b.std[i]);
}

/** A normalised mel crop [frames, 128] with a gain shift. */
function prepareMel(mel: Float32Array, stats: MelStats, gainLog: number): Float32Array {
  const frames = mel.length / 128;
  const shifted = gainLog === 0 ? mel : Float32Array.from(mel, (v) => Math.max(LOG_FLOOR, v + gainLog));
  return normalizeMel({ frames, bands: 128, data: shifted }, stats).data;
}

/** Where the loss and gradients are computed: jax-js (the reference) or the exported step graph on onnxruntime (onnx-step.ts). */
export const TRAIN_ENGINES = ["jax", "onnx"] as const;
export type TrainEngine = (typeof TRAIN_ENGINES)[number];

/**
 * `start` warm-starts the run (src/train/warm-start.ts): from a linear codec the
 * linear paths and codebooks (the step-0 k-means is then skipped), from a model
 * the CFM decoder. The linear codec's mel statistics must be `stats`.
 */
export function createCodecTask(c: CodecConfig, t: CodecTrainConfig, train: Clip[], val: Clip[], stats: MelStats, seed: number, start: CodecStart & { engine?: TrainEngine; heldOut?: Clip[] } = {}): TrainTask & { params(): CodecParams; buffersOf(): CodecBuffers } {
  const engine: TrainEngine = start.engine ?? "jax";
  const initRng = new Rng(seed ^ 0x5eed);
  const init = initCodec(initRng, c);
  const params = init.params;
  let buffers = init.buffers;
  const sampler = new ClipSampler(train, t.packShort ? MIN_PACKED_FRAMES : t.frames, t.sampling);
  const packer = t.packShort ? new ClipPacker(train) : null;
  const S = c.rvq.stages;
  const B = t.batch;
  const T = t.frames;
  const N = B * T;
  const lossFn = (p: any, b: any, batch: any): any => codecLoss(p, b, c, batch);
  const lossAndGrad = jit(valueAndGrad(lossFn, { hasAux: true }));
  const lossOnly = jit(lossFn);
  const encode = jit((p: any, mel: JArray) => encoderLatent(p, c, mel));
  let onnxStep: OnnxCodecStep | null = null;

  const drawMel = (rng: Rng) => {
    const mel = new Float32Array(N * 128);
    for (let b = 0; b < B; b++) {
      let crop = packer ? packer.crop(sampler.pick(rng), T, rng) : randomCrop(sampler.pick(rng), T, rng).mel;
      // Drawn only when on, so runs without it keep their random stream.
      if (t.warp) crop = warpLogMel(crop, 128, bandWarp(drawWarpFactor(t.warp, rng.uniform())));
      const gain = t.gainDb > 0 ? ((rng.uniform() * 2 - 1) * t.gainDb * Math.log(10)) / 20 : 0;
      mel.set(prepareMel(crop, stats, gain), b * T * 128);
    }
    return mel;
  };

  if (start.linear) {
    checkLinearFits(c, start.linear, "linear codec");
    if (!sameStats(start.linear.stats, stats)) throw new UserError("the linear codec's mel statistics are not the run's: warm-start with the statistics stored in the linear codec file");
    tree.dispose(params.linearPath!);
    params.linearPath = linearPathFrom(start.linear);
    // A fixed stream of its own: the warm start does not shift the training draws.
    const usageRng = new Rng(seed ^ 0x11ea);
    const mel = new Float32Array(USAGE_BATCHES * N * 128);
    for (let i = 0; i < USAGE_BATCHES; i++) mel.set(drawMel(usageRng), i * N * 128);
    tree.dispose(buffers);
    buffers = linearCodebookBuffers(start.linear, c.rvq, N, mel, USAGE_BATCHES * N);
  }
  if (start.cfm) {
    const cfm = cfmFrom(start.cfm, c, params.cfm);
    tree.dispose(params.cfm);
    params.cfm = cfm;
  }
  const group = newGroup(params as unknown as Params, new AdamW({ clipNorm: 1 }), { kind: "cosine", lr: t.lr, warmup: t.warmup, steps: t.steps, minLr: t.lr / 20 }, t.emaDecay);

  // Fixed validation crops (the middle of each of the first clips), fixed noise and flow times.
  const valSet = val.filter((v) => v.frames >= T).slice(0, t.valClips);
  const valBatches: Float32Array[] = [];
  for (let i = 0; i < valSet.length; i += B) {
    const mel = new Float32Array(N * 128);
    for (let b = 0; b < B; b++) {
      const clip = valSet[(i + b) % valSet.length]; // a short last batch repeats clips
      mel.set(prepareMel(cropAt(clip, Math.floor((clip.frames - T) / 2), T).mel, stats, 0), b * T * 128);
    }
    valBatches.push(mel);
  }
  const heldOutBatches = heldOutValidation(start.heldOut ?? [], B, T, stats);
  const task = {
    model: "codec",
    config: c,
    groups: { codec: group },
    buffers: buffers as unknown as Params,
    buffersLoaded: start.linear !== undefined,
    engine,
    params: () => (syncDeviceParams(group), group.params as unknown as CodecParams),
    buffersOf: () => task.buffers as unknown as CodecBuffers,
    info: () => ({ mel_stats: JSON.stringify(stats), train: JSON.stringify(t) }),

    /** Codebooks from k-means on encoder outputs, stage by stage on the residuals. */
    initCodebooks(rng: Rng) {
      const z = encode(tree.ref(task.params()), np.array(drawMel(rng)).reshape([B, T, 128]));
      const data = Float32Array.from(z.dataSync() as Float32Array);
      const d = c.rvq.dim;
      const K = c.rvq.codebookSize;
      const books: JArray[] = [];
      for (let s = 0; s < S; s++) {
        const cb = kmeans(data, N, d, K, rng, 8);
        for (let i = 0; i < N; i++) {
          let best = 0;
          let bd = Infinity;
          for (let k = 0; k < K; k++) {
            let dist = 0;
            for (let j = 0; j < d; j++) dist += (data[i * d + j] - cb[k * d + j]) ** 2;
            if (dist < bd) {
              bd = dist;
              best = k;
            }
          }
          for (let j = 0; j < d; j++) data[i * d + j] -= cb[best * d + j];
        }
        books.push(np.array(cb).reshape([K, d]));
      }
      tree.dispose(task.buffers);
      task.buffers = { codebooks: books, emaSum: books.map((b) => b.ref), emaCount: books.map(() => np.ones([K])) } as unknown as Params;
    },

    step(step: number, rng: Rng): Record<string, number> | Promise<Record<string, number>> {
      if (step === 0 && !task.buffersLoaded) task.initCodebooks(rng); // fine-tuning keeps the model's codebooks
      return engine === "onnx" ? stepOnnx(step, rng) : stepJax(step, rng);
    },

    validate(): Record<string, number> {
      const ew = evalParams(group);
      const half = Math.max(1, S / 2);
      const seen = validationLosses(ew, valBatches, [S, half]);
      const out: Record<string, number> = { prior: seen.prior[0], cfm: seen.cfm, commit: seen.commit, [`prior_${half}stages`]: seen.prior[1] };
      if (heldOutBatches.length > 0) {
        // The held-out speakers at all, half and a quarter of the stages (a quarter: the 1.5 kbit/s regime).
        const counts = [...new Set([S, half, Math.max(1, S / 4)])]; // a small model's counts can coincide
        const unseen = validationLosses(ew, heldOutBatches, counts);
        counts.forEach((n, i) => (out[n === S ? "unseen_prior" : `unseen_prior_${n}stages`] = unseen.prior[i]));
      }
      tree.dispose(ew);
      return out;
    },
  };

  /** Mean losses over fixed batches (fixed noise and flow times), the prior's at each stage count. */
  function validationLosses(ew: Params, batches: Float32Array[], stageCounts: number[]): { prior: number[]; cfm: number; commit: number } {
    const prior = stageCounts.map(() => 0);
    let cfm = 0;
    let commit = 0;
    const vr = new Rng(1234);
    for (const mel of batches) {
      for (const [i, stages] of stageCounts.entries()) {
        const evalWeights = tree.ref(ew);
        const t01 = Float32Array.from({ length: B }, (_, b) => (b + 0.5) / B);
        const sm = new Float32Array(S * B);
        sm.fill(1, 0, stages * B);
        const batch = {
          mel: np.array(mel).reshape([B, T, 128]),
          noise: np.array(vr.normalArray(N * 128)).reshape([B, T, 128]),
          t: np.array(t01).reshape([B, 1, 1]),
          tEmb: sinusoidalEmbedding(t01, c.cfm.channels[0]),
          condMask: np.ones([B, 1, 1]),
          stageMask: np.array(sm).reshape([S, B]),
        };
        const [loss, aux] = lossOnly(evalWeights, tree.ref(task.buffers), batch) as unknown as [JArray, any];
        loss.dispose();
        aux.codes.dispose();
        aux.residuals.dispose();
        prior[i] += (aux.prior.dataSync() as Float32Array)[0];
        if (i === 0) {
          cfm += (aux.cfm.dataSync() as Float32Array)[0];
          commit += (aux.commit.dataSync() as Float32Array)[0];
        } else {
          aux.cfm.dispose();
          aux.commit.dispose();
        }
      }
    }
    const n = Math.max(1, batches.length);
    return { prior: prior.map((p) => p / n), cfm: cfm / n, commit: commit / n };
  }

  /** Each frame's weight in the EMA update [S, N]: whether its stage was active for its example. */
  function stageWeights(stageMask: Float32Array): Float32Array {
    const w = new Float32Array(S * N);
    for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) w.fill(stageMask[s * B + b], s * N + b * T, s * N + (b + 1) * T);
    return w;
  }

  /** The metrics both engines log, after the dead-code restarts (host work shared by both). */
  function finishStep(rng: Rng, r: { loss: number; prior: number; cfm: number; commit: number; gradNorm: number; codes: Int32Array; residuals: Float32Array; counts: Float32Array[]; w: Float32Array; t0: number; t1: number; t2: number }): Record<string, number> {
    const restarted = restartDeadCodes(rng, r.w, r.residuals, r.counts);
    const ppl = codePerplexity(r.codes, S, N, c.rvq.codebookSize, r.w);
    const t3 = performance.now();
    return {
      loss: r.loss,
      prior: r.prior,
      cfm: r.cfm,
      commit: r.commit,
      gradNorm: r.gradNorm,
      restarted,
      msGrad: Math.round(r.t1 - r.t0),
      msOpt: Math.round(r.t2 - r.t1),
      msVq: Math.round(t3 - r.t2),
      ...Object.fromEntries(ppl.map((p, s) => [`ppl${s}`, Math.round(p * 10) / 10])),
    };
  }

  function stepJax(step: number, rng: Rng): Record<string, number> {
    const t0 = performance.now();
    const batch = sampleCodecBatch(rng, c, drawMel(rng), B, T);
    const stageMaskHost = batch.stageMask.ref.dataSync() as Float32Array;
    const [[loss, aux], grads] = lossAndGrad(tree.ref(group.params), tree.ref(task.buffers), batch) as unknown as [[JArray, any], Params];
    const lossValue = (loss.dataSync() as Float32Array)[0];
    const t1 = performance.now();
    const { params: next, gradNorm } = group.opt.step(group.params, grads, group.adam, learningRate(group.schedule, step));
    group.params = next;
    const t2 = performance.now();
    const w = stageWeights(stageMaskHost);
    const codesHost = aux.codes.ref.dataSync() as Int32Array;
    const residHost = aux.residuals.ref.dataSync() as Float32Array;
    task.buffers = emaCodebookUpdate(task.buffers as any, aux.codes, aux.residuals, np.array(w).reshape([S, N]), np.array(new Float32Array([c.rvq.decay])).reshape([])) as unknown as Params;
    const scalar = (a: JArray) => (a.dataSync() as Float32Array)[0];
    const counts = (task.buffers as unknown as CodecBuffers).emaCount.map((a) => a.ref.dataSync() as Float32Array);
    return finishStep(rng, { loss: lossValue, prior: scalar(aux.prior), cfm: scalar(aux.cfm), commit: scalar(aux.commit), gradNorm, codes: Int32Array.from(codesHost), residuals: residHost, counts, w, t0, t1, t2 });
  }

  async function stepOnnx(step: number, rng: Rng): Promise<Record<string, number>> {
    const t0 = performance.now();
    const batch = sampleCodecBatchHost(rng, c, drawMel(rng), B, T);
    onnxStep ??= await OnnxCodecStep.create((await import("onnxruntime-node")) as any, c, task.params(), task.buffersOf(), batch);
    const buffers = task.buffersOf();
    const host = (arrays: JArray[]) => arrays.map((a) => a.ref.dataSync() as Float32Array);
    const r = await onnxStep.run(group.adam.w, { codebooks: host(buffers.codebooks), emaSum: host(buffers.emaSum), emaCount: host(buffers.emaCount) }, batch);
    const t1 = performance.now();
    const gradNorm = stepOnHost(group, r.grads, learningRate(group.schedule, step));
    const t2 = performance.now();
    const upload = (arrays: Float32Array[], like: JArray[]) => arrays.map((a, s) => np.array(a).reshape(like[s].shape));
    const next = { codebooks: upload(r.buffers.codebooks, buffers.codebooks), emaSum: upload(r.buffers.emaSum, buffers.emaSum), emaCount: upload(r.buffers.emaCount, buffers.emaCount) };
    tree.dispose(task.buffers);
    task.buffers = next as unknown as Params;
    return finishStep(rng, { ...r, gradNorm, counts: r.buffers.emaCount, w: stageWeights(batch.stageMask.data), t0, t1, t2 });
  }

  /** Codes whose EMA usage (`emaCounts`, host copies of the buffers' counts) fell below the threshold restart at random vectors of this batch's residuals. */
  function restartDeadCodes(rng: Rng, weights: Float32Array, resid: Float32Array, emaCounts: Float32Array[]): number {
    const b = task.buffers as unknown as CodecBuffers;
    const d = c.rvq.dim;
    const K = c.rvq.codebookSize;
    let restarted = 0;
    for (let s = 0; s < S; s++) {
      const counts = emaCounts[s];
      const dead: number[] = [];
      for (let k = 0; k < K; k++) if (counts[k] < c.rvq.deadThreshold) dead.push(k);
      const active: number[] = [];
      for (let i = 0; i < N; i++) if (weights[s * N + i] > 0) active.push(i);
      if (dead.length === 0 || active.length === 0) continue;
      const cb = Float32Array.from(b.codebooks[s].ref.dataSync() as Float32Array);
      const cnt = Float32Array.from(counts);
      for (const k of dead) {
        const i = active[rng.int(active.length)];
        for (let j = 0; j < d; j++) cb[k * d + j] = resid[(s * N + i) * d + j] + 1e-3 * rng.normal();
        cnt[k] = 1;
      }
      restarted += dead.length;
      const sum = Float32Array.from(cb);
      b.codebooks[s].dispose();
      b.emaSum[s].dispose();
      b.emaCount[s].dispose();
      b.codebooks[s] = np.array(cb).reshape([K, d]);
      b.emaCount[s] = np.array(cnt);
      // EMA sums follow codebook = sum / count, with the restarted counts at 1.
      for (let k = 0; k < K; k++) for (let j = 0; j < d; j++) sum[k * d + j] *= cnt[k];
      b.emaSum[s] = np.array(sum).reshape([K, d]);
    }
    return restarted;
  }

  return task;
}

/** Most held-out batches a validation reads (with batch 16 and 64 frames: 2.9 min of audio). */
const HELD_OUT_BATCHES = 8;

/**
 * Fixed validation batches from held-out speakers' clips (most shorter than a crop): their mels
 * laid end to end in clip order, cut into consecutive crops, as training packs short clips.
 */
export function heldOutValidation(clips: Clip[], batch: number, frames: number, stats: MelStats): Float32Array[] {
  const crop = batch * frames;
  const total = Math.min(clips.reduce((s, c) => s + c.frames, 0), HELD_OUT_BATCHES * crop);
  const batches: Float32Array[] = [];
  if (total < crop) return batches;
  const mel = new Float32Array(Math.floor(total / crop) * crop * 128);
  let at = 0;
  for (const c of clips) {
    if (at >= mel.length) break;
    const m = c.mel(0, c.frames);
    mel.set(m.subarray(0, Math.min(m.length, mel.length - at)), at);
    at += m.length;
  }
  for (let i = 0; i < mel.length; i += crop * 128) batches.push(prepareMel(mel.subarray(i, i + crop * 128), stats, 0));
  return batches;
}
