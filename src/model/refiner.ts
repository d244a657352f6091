/**
 * Magnitude refiner (FreeV-style): a vocoder that starts exactly at the
 * training-free one and learns what it cannot. The log-magnitude is the
 * filterbank inverse (NNLS through the Slaney filterbank, computed on the
 * host: refiner-host.ts) plus a residual a ConvNeXt stack predicts from the
 * mel; the phase stays training-free (PGHI refined by fast Griffin-Lim).
 * The residual head starts at zero, so an untrained refiner is NNLS+PGHI-FGLA.
 */
import type { Rng } from "../nn/rng.js";
import { zeros, type LinearParams } from "../nn/init.js";
import { linear } from "../nn/layers.js";
import { np, type JArray } from "../nn/runtime.js";
import { convNeXtStack, initConvNeXtStack, type ConvNeXtConfig, type ConvNeXtStackParams } from "./vocos.js";

export interface RefinerConfig extends ConvNeXtConfig {
  kind: "refiner";
  nFft: number;
  hop: number;
  /** FGLA iterations after PGHI at inference (phase-vocoder.ts's pghi-fgla default). */
  fglaIterations: number;
}

/** A refiner vocoder's config: the network and its loss (no discriminators: it trains by regression). */
export interface RefinerVocoderConfig {
  name: string;
  generator: RefinerConfig;
  /** L1 on log-magnitude, and spectral convergence on linear magnitudes (0: off). */
  loss: { l1: number; sc: number };
}

export type RefinerParams = ConvNeXtStackParams & { head: LinearParams };

/**
 * L1 on log-magnitude alone pulls noise-like bins to the median of their log
 * (below their energy): resynthesised music re-analysed to a log-mel 0.144
 * from the input mel against the prior's 0.120 after 400 steps; with spectral
 * convergence added 1:1, 0.134, and speech STOI 0.959 vs 0.957 (docs/training.md).
 */
const refiner = (name: string, dim: number, intermediate: number, layers: number): RefinerVocoderConfig => ({
  name,
  generator: { kind: "refiner", nMels: 128, dim, intermediate, layers, nFft: 2048, hop: 512, fglaIterations: 16 },
  loss: { l1: 1, sc: 1 },
});

export const REFINER_CONFIGS: Record<string, RefinerVocoderConfig> = {
  "refiner-small": refiner("refiner-small", 256, 768, 6),
  "refiner-tiny": refiner("refiner-tiny", 32, 64, 2),
};

export function isRefinerConfig(c: { generator: { kind: string } }): c is RefinerVocoderConfig {
  return c.generator.kind === "refiner";
}

export function initRefiner(rng: Rng, c: RefinerConfig): RefinerParams {
  const bins = c.nFft / 2 + 1;
  // Zero head: the residual is exactly 0 at step 0, so the output is the prior.
  return { ...initConvNeXtStack(rng, c), head: { w: zeros([bins, c.dim]), b: zeros([bins]) } };
}

/** mel [B, T, nMels] (log-mel, not normalised) and log NNLS prior [B, T, bins] -> log-magnitude [B, T, bins]. */
export function refineMagnitude(p: RefinerParams, c: RefinerConfig, mel: JArray, logPrior: JArray): JArray {
  return logPrior.add(linear(p.head, convNeXtStack(p, c, mel)));
}

export interface RefinerLossAux {
  l1: JArray;
  sc: JArray;
}

/** Largest log-magnitude the spectral convergence exponentiates (e^12 ~ 1.6e5, far above any STFT of [-1, 1] audio). */
const SC_LOG_CEILING = 12;

/**
 * L1 between log-magnitudes (mean over batch, frames and bins), and spectral
 * convergence ||exp(pred) - exp(target)||_F / ||exp(target)||_F over the batch;
 * the objective weighs them by c.loss. Consumes mel, logPrior and target.
 */
export function refinerLoss(p: RefinerParams, c: RefinerVocoderConfig, mel: JArray, logPrior: JArray, target: JArray): [JArray, RefinerLossAux] {
  const pred = refineMagnitude(p, c.generator, mel, logPrior);
  const l1 = np.abs(pred.ref.sub(target.ref)).mean();
  const linTarget = np.exp(target);
  const diff = np.exp(np.minimum(pred, SC_LOG_CEILING)).sub(linTarget.ref);
  const sc = np.sqrt(np.square(diff).sum().div(np.square(linTarget).sum().add(1e-12)));
  const loss = c.loss.sc > 0 ? l1.ref.mul(c.loss.l1).add(sc.ref.mul(c.loss.sc)) : l1.ref.mul(c.loss.l1);
  return [loss, { l1, sc }];
}
