/**
 * Training task for the magnitude refiner: regression of the log STFT
 * magnitude of random crops from their mel (no GAN). The input prior (log
 * NNLS magnitudes) is computed on the host per crop; a random gain is applied
 * to mel, prior and target alike (additive in log). Validation is the loss on
 * fixed crops, reported before the first step too: there it is the NNLS
 * prior's own, the baseline training must beat.
 */
import type { MelInverse } from "../audio/mel-inverse.js";
import { initRefiner, refinerLoss, type RefinerParams, type RefinerVocoderConfig } from "../model/refiner.js";
import { logMagnitudePrior, refinerMelInverse } from "../model/refiner-host.js";
import { AdamW, learningRate } from "../nn/optim.js";
import type { Params } from "../nn/params.js";
import { Rng } from "../nn/rng.js";
import { jit, np, tree, valueAndGrad, type JArray } from "../nn/runtime.js";
import { BANDS, ClipSampler, type Clip } from "./data.js";
import { MagnitudeTarget } from "./magnitude-target.js";
import type { DecodedMels } from "./decoded-mels.js";
import { evalParams, newGroup, stepOnHost, syncDeviceParams, type TrainSettings, type TrainTask } from "./runner.js";
import type { TrainEngine } from "./codec-task.js";
import { OnnxRefinerStep } from "./refiner-step.js";

export const REFINER_TRAIN: Record<string, TrainSettings> = {
  "refiner-small": { batch: 16, frames: 32, steps: 20000, lr: 5e-4, warmup: 200, emaDecay: 0.999, gainDb: 6, valClips: 16, valFrames: 64 },
  "refiner-tiny": { batch: 2, frames: 8, steps: 40, lr: 1e-2, warmup: 2, emaDecay: 0.9, gainDb: 6, valClips: 2 },
};

const LOG_FLOOR = Math.log(1e-5);

/** Host arrays of one batch: mel [B, F, 128], log prior and log target [B, F, bins]. */
interface HostBatch {
  mel: Float32Array;
  prior: Float32Array;
  target: Float32Array;
}

/**
 * Mel, prior and target of crop b of a batch at frames [f0, f0 + F) of a clip, with gain exp(logGain).
 * With `decoded`, the input mel is the codec's decoding of the crop; the target stays the true magnitude.
 */
async function fillCrop(out: HostBatch, b: number, clip: Clip, f0: number, F: number, logGain: number, inverse: MelInverse, target: MagnitudeTarget, decoded: DecodedMels | null, rng: Rng | null): Promise<void> {
  const bins = target.bins;
  const gained = (start: number, n: number) => {
    const mel = clip.mel(start, n);
    const m = new Float32Array(n * BANDS);
    for (let i = 0; i < m.length; i++) m[i] = Math.max(LOG_FLOOR, mel[i] + logGain);
    return m;
  };
  // Training crops are decoded at the source's share; validation crops (no rng) always.
  const m = decoded && (!rng || decoded.pick(rng)) ? await decoded.decode(clip, f0, F, logGain, rng) : gained(f0, F);
  out.mel.set(m, b * F * BANDS);
  out.prior.set(logMagnitudePrior(inverse, m, F), b * F * bins);
  out.target.set(target.logMagnitude(clip, f0, F, Math.exp(logGain)), b * F * bins);
}

function newBatch(B: number, F: number, bins: number): HostBatch {
  return { mel: new Float32Array(B * F * BANDS), prior: new Float32Array(B * F * bins), target: new Float32Array(B * F * bins) };
}

/**
 * `decoded`: train on the mels a codec decodes (fine-tuning for its output) instead of the true ones.
 * `engine`: where loss and gradients are computed, jax-js (the reference) or the exported step on
 * onnxruntime (refiner-step.ts; the optimiser then updates its host weights alone).
 */
export async function createRefinerTask(c: RefinerVocoderConfig, t: TrainSettings, train: Clip[], val: Clip[], seed: number, decoded: DecodedMels | null = null, engine: TrainEngine = "jax"): Promise<TrainTask> {
  const g = c.generator;
  const schedule = { kind: "cosine" as const, lr: t.lr, warmup: t.warmup, steps: t.steps, minLr: t.lr / 20 };
  const gen = newGroup(initRefiner(new Rng(seed ^ 0x7ef1), g) as unknown as Params, new AdamW({ beta1: 0.9, beta2: 0.99, clipNorm: 10 }), schedule, t.emaDecay);
  const sampler = new ClipSampler(train, t.frames, t.sampling);
  const inverse = refinerMelInverse(g);
  const target = new MagnitudeTarget(g.nFft, g.hop);
  const bins = target.bins;
  const B = t.batch;
  const F = t.frames;

  const gradStep = jit(valueAndGrad((p: any, mel: JArray, prior: JArray, tgt: JArray): any => refinerLoss(p, c, mel, prior, tgt), { hasAux: true }));
  const evalLoss = jit((p: any, mel: JArray, prior: JArray, tgt: JArray): any => refinerLoss(p, c, mel, prior, tgt)[1]);
  let onnxStep: OnnxRefinerStep | null = null;
  const upload = (h: HostBatch, n: number, frames: number) => [np.array(h.mel).reshape([n, frames, BANDS]), np.array(h.prior).reshape([n, frames, bins]), np.array(h.target).reshape([n, frames, bins])];

  // Fixed validation crops (the middle of each long-enough clip, no gain), built once.
  const VF = t.valFrames ?? F;
  const valClips = val.filter((v) => v.frames >= VF).slice(0, t.valClips);
  const valBatch = newBatch(valClips.length, VF, bins);
  for (const [i, clip] of valClips.entries()) await fillCrop(valBatch, i, clip, Math.floor((clip.frames - VF) / 2), VF, 0, inverse, target, decoded, null);

  return {
    model: "vocoder",
    config: c,
    groups: { gen },
    buffers: null,
    validateAtStart: true,
    engine,
    info: () => ({ train: JSON.stringify(t) }),
    async step(step: number, rng: Rng): Promise<Record<string, number>> {
      const batch = newBatch(B, F, bins);
      for (let b = 0; b < B; b++) {
        const clip = sampler.pick(rng);
        const f0 = rng.int(clip.frames - F + 1);
        const logGain = t.gainDb > 0 ? ((rng.uniform() * 2 - 1) * t.gainDb * Math.LN10) / 20 : 0;
        await fillCrop(batch, b, clip, f0, F, logGain, inverse, target, decoded, rng);
      }
      if (engine === "onnx") {
        onnxStep ??= await OnnxRefinerStep.create((await import("onnxruntime-node")) as any, c, gen.params as unknown as RefinerParams, { batch: B, frames: F });
        const r = await onnxStep.run(gen.adam.w, batch.mel, batch.prior, batch.target);
        const gradNorm = stepOnHost(gen, r.grads, learningRate(schedule, step));
        return { loss: r.loss, l1: r.l1, sc: r.sc, gradNorm };
      }
      syncDeviceParams(gen);
      const [mel, prior, tgt] = upload(batch, B, F);
      const [[loss, aux], grads] = gradStep(tree.ref(gen.params), mel, prior, tgt) as unknown as [[JArray, { l1: JArray; sc: JArray }], Params];
      const r = gen.opt.step(gen.params, grads, gen.adam, learningRate(schedule, step));
      gen.params = r.params;
      return { loss: scalar(loss), l1: scalar(aux.l1), sc: scalar(aux.sc), gradNorm: r.gradNorm };
    },
    validate(): Record<string, number> {
      if (valClips.length === 0) return {};
      const ew = evalParams(gen);
      const [mel, prior, tgt] = upload(valBatch, valClips.length, VF);
      const aux = evalLoss(tree.ref(ew), mel, prior, tgt) as unknown as { l1: JArray; sc: JArray };
      tree.dispose(ew);
      return { l1: scalar(aux.l1), sc: scalar(aux.sc) };
    },
  };
}

function scalar(a: JArray): number {
  return (a.dataSync() as Float32Array)[0];
}
