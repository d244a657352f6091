/**
 * The mel-to-audio vocoder: generator choice (Vocos or BigVGAN), discriminators
 * and losses; and the union with the magnitude refiner (refiner.ts), the other
 * kind of vocoder a model can ship.
 */
import type { Rng } from "../nn/rng.js";
import { lax, np, type JArray } from "../nn/runtime.js";
import { bigvgan, initBigVgan, type BigVganConfig, type BigVganParams } from "./bigvgan.js";
import {
  discriminate, discriminatorLoss, featureMatchingLoss, generatorAdvLoss, initDiscriminators,
  type DiscriminatorConfig, type DiscriminatorParams,
} from "./discriminators.js";
import { logMel } from "./spectral.js";
import { initRefiner, isRefinerConfig, REFINER_CONFIGS, type RefinerParams, type RefinerVocoderConfig } from "./refiner.js";
import { initVocos, vocos, type VocosConfig, type VocosParams } from "./vocos.js";

export const HOP = 512;

export interface VocoderConfig {
  name: string;
  generator: VocosConfig | BigVganConfig;
  disc: DiscriminatorConfig;
  /** Multi-resolution mel loss: [nFft, hop, nMels] per resolution. */
  melResolutions: [number, number, number][];
  loss: { mel: number; fm: number; adv: number };
  /** Steps of mel-loss-only training before the GAN losses switch on. */
  ganStart: number;
}

export type GeneratorParams = VocosParams | BigVganParams;

const smallDisc: DiscriminatorConfig = { periods: [2, 3, 5, 7, 11], periodChannels: [16, 32, 64, 128], resolutions: [512, 1024, 2048], spectralChannels: 64 };
const paperDisc: DiscriminatorConfig = { periods: [2, 3, 5, 7, 11], periodChannels: [32, 128, 512, 1024], resolutions: [512, 1024, 2048], spectralChannels: 128 };
const melRes: [number, number, number][] = [[512, 128, 64], [1024, 256, 100], [2048, 512, 128]];

export const VOCODER_CONFIGS: Record<string, VocoderConfig> = {
  "vocos-small": {
    name: "vocos-small",
    generator: { kind: "vocos", nMels: 128, dim: 256, intermediate: 768, layers: 6, nFft: 2048, hop: HOP },
    disc: smallDisc, melResolutions: melRes, loss: { mel: 45, fm: 2, adv: 1 }, ganStart: 2000,
  },
  "vocos-paper": {
    name: "vocos-paper",
    generator: { kind: "vocos", nMels: 128, dim: 512, intermediate: 1536, layers: 8, nFft: 2048, hop: HOP },
    disc: paperDisc, melResolutions: melRes, loss: { mel: 45, fm: 2, adv: 1 }, ganStart: 0,
  },
  "bigvgan-paper": {
    name: "bigvgan-paper",
    generator: {
      kind: "bigvgan", nMels: 128, initialChannels: 1024, upsampleRates: [4, 4, 2, 2, 2, 2, 2], upsampleKernels: [8, 8, 4, 4, 4, 4, 4],
      resblockKernels: [3, 7, 11], resblockDilations: [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
    },
    disc: paperDisc, melResolutions: melRes, loss: { mel: 45, fm: 2, adv: 1 }, ganStart: 0,
  },
  "bigvgan-small": {
    name: "bigvgan-small",
    generator: {
      kind: "bigvgan", nMels: 128, initialChannels: 256, upsampleRates: [8, 4, 4, 4], upsampleKernels: [16, 8, 8, 8],
      resblockKernels: [3, 7], resblockDilations: [[1, 3, 5], [1, 3, 5]],
    },
    disc: smallDisc, melResolutions: melRes, loss: { mel: 45, fm: 2, adv: 1 }, ganStart: 2000,
  },
  "vocos-tiny": {
    name: "vocos-tiny",
    generator: { kind: "vocos", nMels: 128, dim: 32, intermediate: 64, layers: 2, nFft: 2048, hop: HOP },
    disc: { periods: [2, 3], periodChannels: [4, 8], resolutions: [512], spectralChannels: 8 }, melResolutions: [[512, 128, 64], [2048, 512, 128]],
    loss: { mel: 45, fm: 2, adv: 1 }, ganStart: 0,
  },
  "bigvgan-tiny": {
    name: "bigvgan-tiny",
    generator: { kind: "bigvgan", nMels: 128, initialChannels: 32, upsampleRates: [8, 8, 8], upsampleKernels: [16, 16, 16], resblockKernels: [3], resblockDilations: [[1, 3]] },
    disc: { periods: [2, 3], periodChannels: [4, 8], resolutions: [512], spectralChannels: 8 }, melResolutions: [[512, 128, 64], [2048, 512, 128]],
    loss: { mel: 45, fm: 2, adv: 1 }, ganStart: 0,
  },
};

/** Any vocoder a model can ship: a GAN-trained generator or a magnitude refiner. */
export type AnyVocoderConfig = VocoderConfig | RefinerVocoderConfig;
export type AnyVocoderParams = GeneratorParams | RefinerParams;

/** Every vocoder config by name (the names of both tables are distinct). */
export const ALL_VOCODER_CONFIGS: Record<string, AnyVocoderConfig> = { ...VOCODER_CONFIGS, ...REFINER_CONFIGS };

export function initAnyVocoder(rng: Rng, c: AnyVocoderConfig): AnyVocoderParams {
  return isRefinerConfig(c) ? initRefiner(rng, c.generator) : initGenerator(rng, c);
}

export function initGenerator(rng: Rng, c: VocoderConfig): GeneratorParams {
  return c.generator.kind === "vocos" ? initVocos(rng, c.generator) : initBigVgan(rng, c.generator);
}

/** mel [B, T, nMels] (natural-log mel, not normalised) -> audio [B, T * 512]. */
export function generate(p: GeneratorParams, c: VocoderConfig, mel: JArray): JArray {
  return c.generator.kind === "vocos" ? vocos(p as VocosParams, c.generator, mel) : bigvgan(p as BigVganParams, c.generator, mel);
}

export { initDiscriminators, type DiscriminatorParams };

/** Multi-resolution log-mel L1 between generated and real audio [B, N]. */
export function melLoss(c: VocoderConfig, fake: JArray, real: JArray): JArray {
  const ls = c.melResolutions.map(([n, h, m]) => np.abs(logMel(fake.ref, n, h, m).sub(logMel(real.ref, n, h, m))).mean());
  fake.dispose();
  real.dispose();
  return ls.reduce((a, b) => a.add(b)).mul(1 / ls.length);
}

export interface GeneratorLossAux {
  mel: JArray;
  adv: JArray;
  fm: JArray;
}

/** Generator objective: 45 mel L1 (+ adversarial + 2 feature matching once the GAN is on). Consumes mel and audio. */
export function generatorLoss(g: GeneratorParams, d: DiscriminatorParams, c: VocoderConfig, mel: JArray, audio: JArray, gan: boolean): [JArray, GeneratorLossAux] {
  const fake = generate(g, c, mel);
  const ml = melLoss(c, fake.ref, audio.ref);
  if (!gan) {
    fake.dispose();
    audio.dispose();
    return [ml.ref.mul(c.loss.mel), { mel: ml, adv: np.zeros([]), fm: np.zeros([]) }];
  }
  const realOut = discriminate(d, c.disc, audio);
  const fakeOut = discriminate(d, c.disc, fake);
  realOut.logits.forEach((l) => l.dispose());
  const adv = generatorAdvLoss(fakeOut.logits);
  const fm = featureMatchingLoss(realOut.feats.map((fs) => fs.map((f) => lax.stopGradient(f))), fakeOut.feats);
  const loss = ml.ref.mul(c.loss.mel).add(adv.ref.mul(c.loss.adv)).add(fm.ref.mul(c.loss.fm));
  return [loss, { mel: ml, adv, fm }];
}

/** Discriminator objective on real audio and (detached) generated audio. */
export function discLoss(d: DiscriminatorParams, c: VocoderConfig, real: JArray, fake: JArray): JArray {
  const r = discriminate(d, c.disc, real);
  const f = discriminate(d, c.disc, lax.stopGradient(fake));
  r.feats.forEach((fs) => fs.forEach((x) => x.dispose()));
  f.feats.forEach((fs) => fs.forEach((x) => x.dispose()));
  return discriminatorLoss(r.logits, f.logits);
}
