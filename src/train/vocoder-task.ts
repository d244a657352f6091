/** Training task for the vocoder: generator (with EMA) and discriminators, mel-loss warm-up then LSGAN. */
import { discLoss, generate, generatorLoss, initDiscriminators, initGenerator, melLoss, type VocoderConfig } from "../model/vocoder.js";
import { AdamW, learningRate } from "../nn/optim.js";
import type { Params } from "../nn/params.js";
import { Rng } from "../nn/rng.js";
import { jit, np, tree, valueAndGrad, type JArray } from "../nn/runtime.js";
import { ClipSampler, cropAt, HOP, randomCrop, type Clip } from "./data.js";
import { evalParams, newGroup, type TrainSettings, type TrainTask } from "./runner.js";

export type VocoderTrainConfig = TrainSettings;

export const VOCODER_TRAIN: Record<string, VocoderTrainConfig> = {
  "vocos-small": { batch: 8, frames: 32, steps: 20000, lr: 5e-4, warmup: 200, emaDecay: 0.999, gainDb: 6, valClips: 16 },
  "vocos-paper": { batch: 16, frames: 32, steps: 1000000, lr: 5e-4, warmup: 1000, emaDecay: 0.999, gainDb: 6, valClips: 16 },
  "bigvgan-small": { batch: 4, frames: 32, steps: 20000, lr: 2e-4, warmup: 200, emaDecay: 0.999, gainDb: 6, valClips: 8 },
  "bigvgan-paper": { batch: 16, frames: 32, steps: 1000000, lr: 1e-4, warmup: 1000, emaDecay: 0.999, gainDb: 6, valClips: 16 },
  "vocos-tiny": { batch: 2, frames: 8, steps: 40, lr: 2e-3, warmup: 2, emaDecay: 0.9, gainDb: 0, valClips: 2 },
  "bigvgan-tiny": { batch: 1, frames: 4, steps: 40, lr: 2e-3, warmup: 2, emaDecay: 0.9, gainDb: 0, valClips: 1 },
};

const LOG_FLOOR = Math.log(1e-5);

export function createVocoderTask(c: VocoderConfig, t: VocoderTrainConfig, train: Clip[], val: Clip[], seed: number): TrainTask {
  const initRng = new Rng(seed ^ 0x70c0);
  const schedule = { kind: "cosine" as const, lr: t.lr, warmup: t.warmup, steps: t.steps, minLr: t.lr / 20 };
  const gen = newGroup(initGenerator(initRng, c) as unknown as Params, new AdamW({ beta1: 0.8, beta2: 0.99, clipNorm: 10 }), schedule, t.emaDecay);
  const disc = newGroup(initDiscriminators(initRng, c.disc) as unknown as Params, new AdamW({ beta1: 0.8, beta2: 0.99, clipNorm: 10 }), schedule, 0);
  const sampler = new ClipSampler(train, t.frames, t.sampling);
  const B = t.batch;
  const F = t.frames;
  const N = F * HOP;

  const gStepFor = (gan: boolean) => jit(valueAndGrad((g: any, d: any, mel: JArray, audio: JArray): any => generatorLoss(g, d, c, mel, audio, gan), { hasAux: true }));
  const gStepMel = gStepFor(false);
  const gStepGan = gStepFor(true);
  const dStep = jit(valueAndGrad((d: any, real: JArray, fake: JArray) => discLoss(d, c, real, fake)));
  const synth = jit((g: any, mel: JArray) => generate(g, c, mel));
  const valLoss = jit((g: any, mel: JArray, audio: JArray) => melLoss(c, generate(g, c, mel), audio));

  const draw = (rng: Rng) => {
    const mel = new Float32Array(B * F * 128);
    const audio = new Float32Array(B * N);
    for (let b = 0; b < B; b++) {
      const crop = randomCrop(sampler.pick(rng), F, rng);
      const gdb = t.gainDb > 0 ? (rng.uniform() * 2 - 1) * t.gainDb : 0;
      const g = 10 ** (gdb / 20);
      const lg = Math.log(g);
      for (let i = 0; i < crop.mel.length; i++) mel[b * F * 128 + i] = Math.max(LOG_FLOOR, crop.mel[i] + lg);
      for (let i = 0; i < N; i++) audio[b * N + i] = Math.max(-1, Math.min(1, crop.audio[i] * g));
    }
    return { mel: np.array(mel).reshape([B, F, 128]), audio: np.array(audio).reshape([B, N]) };
  };

  const VF = t.valFrames ?? F;
  const valSet = val.filter((v) => v.frames >= VF).slice(0, t.valClips);

  return {
    model: "vocoder",
    config: c,
    groups: { gen, disc },
    buffers: null,
    info: () => ({ train: JSON.stringify(t) }),
    step(step: number, rng: Rng): Record<string, number> {
      const { mel, audio } = draw(rng);
      const gan = step >= c.ganStart;
      const out: Record<string, number> = {};
      if (gan) {
        const fake = synth(tree.ref(gen.params), mel.ref);
        const [dl, dg] = dStep(tree.ref(disc.params), audio.ref, fake) as unknown as [JArray, Params];
        out.disc = (dl.dataSync() as Float32Array)[0];
        const r = disc.opt.step(disc.params, dg, disc.adam, learningRate(schedule, step - c.ganStart));
        disc.params = r.params;
        out.dGradNorm = r.gradNorm;
      }
      const [[loss, aux], gg] = (gan ? gStepGan : gStepMel)(tree.ref(gen.params), tree.ref(disc.params), mel, audio) as unknown as [[JArray, any], Params];
      const r = gen.opt.step(gen.params, gg, gen.adam, learningRate(schedule, step));
      gen.params = r.params;
      out.loss = (loss.dataSync() as Float32Array)[0];
      out.mel = (aux.mel.dataSync() as Float32Array)[0];
      out.adv = (aux.adv.dataSync() as Float32Array)[0];
      out.fm = (aux.fm.dataSync() as Float32Array)[0];
      out.gGradNorm = r.gradNorm;
      return out;
    },
    validate(): Record<string, number> {
      let sum = 0;
      const ew = evalParams(gen);
      for (const clip of valSet) {
        const crop = cropAt(clip, Math.floor((clip.frames - VF) / 2), VF);
        const l = valLoss(tree.ref(ew), np.array(crop.mel).reshape([1, VF, 128]), np.array(crop.audio).reshape([1, VF * HOP]));
        sum += (l.dataSync() as Float32Array)[0];
      }
      tree.dispose(ew);
      return { mel: sum / Math.max(1, valSet.length) };
    },
  };
}
