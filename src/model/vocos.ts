/**
 * Vocos-style generator: ConvNeXt blocks at the mel frame rate and an inverse-STFT
 * head that predicts log-magnitude and phase, so no layer runs at the audio
 * rate (fast on a CPU).
 */
import type { Rng } from "../nn/rng.js";
import { full, initConv1d, initLinear, initNorm, type ConvParams, type LinearParams, type NormParams } from "../nn/init.js";
import { conv1d, gelu, layerNorm, linear } from "../nn/layers.js";
import { np, type JArray } from "../nn/runtime.js";
import { istft } from "./spectral.js";

export interface VocosConfig extends ConvNeXtConfig {
  kind: "vocos";
  nFft: number;
  hop: number;
}

/** The ConvNeXt stack's sizes (shared by Vocos and the magnitude refiner). */
export interface ConvNeXtConfig {
  nMels: number;
  dim: number;
  intermediate: number;
  layers: number;
}

type ConvNeXtParams = { dw: ConvParams; norm: NormParams; pw1: LinearParams; pw2: LinearParams; gamma: JArray };
export type ConvNeXtStackParams = { embed: ConvParams; norm: NormParams; blocks: ConvNeXtParams[]; finalNorm: NormParams };
export type VocosParams = ConvNeXtStackParams & { head: LinearParams };

/** Embedding conv, ConvNeXt blocks and final norm (the head is the caller's). */
export function initConvNeXtStack(rng: Rng, c: ConvNeXtConfig): ConvNeXtStackParams {
  return {
    embed: initConv1d(rng, c.nMels, c.dim, 7),
    norm: initNorm(c.dim),
    blocks: Array.from({ length: c.layers }, () => ({
      dw: initConv1d(rng, c.dim, c.dim, 7, { groups: c.dim }),
      norm: initNorm(c.dim),
      pw1: initLinear(rng, c.dim, c.intermediate),
      pw2: initLinear(rng, c.intermediate, c.dim),
      gamma: full([c.dim], 1 / c.layers), // layer scale
    })),
    finalNorm: initNorm(c.dim),
  };
}

export function initVocos(rng: Rng, c: VocosConfig): VocosParams {
  return { ...initConvNeXtStack(rng, c), head: initLinear(rng, c.dim, c.nFft + 2) };
}

/** mel [B, T, nMels] (log-mel, not normalised) -> audio [B, T * hop]. */
export function vocos(p: VocosParams, c: VocosConfig, mel: JArray): JArray {
  const [re, im] = vocosSpectrum(p, c, mel);
  return istft(re, im, c.nFft, c.hop);
}

/**
 * The generator up to its inverse STFT: real and imaginary parts [B, T, nFft/2 + 1].
 * The ONNX export stops here; the engine runs the inverse STFT on a host FFT,
 * ~40x fewer operations than the DFT-as-matmul the autodiff graph uses.
 */
export function vocosSpectrum(p: VocosParams, c: VocosConfig, mel: JArray): [JArray, JArray] {
  const x = convNeXtStack(p, c, mel);
  const bins = c.nFft / 2 + 1;
  const out = linear(p.head, x);
  const logMag = out.ref.slice([], [], [0, bins]);
  const phase = out.slice([], [], [bins, 2 * bins]);
  const mag = np.exp(np.minimum(logMag, Math.log(100))); // |S| <= 100, as Vocos clips
  const re = mag.ref.mul(np.cos(phase.ref));
  const im = mag.mul(np.sin(phase));
  return [re, im];
}

/** mel [B, T, nMels] -> features [B, T, dim]: the embedding conv, the ConvNeXt blocks, the final norm. */
export function convNeXtStack(p: ConvNeXtStackParams, c: ConvNeXtConfig, mel: JArray): JArray {
  let x = layerNorm(p.norm, conv1d(p.embed, mel, { padding: 3 }), 1e-6);
  for (const b of p.blocks) {
    let h = conv1d(b.dw, x.ref, { padding: 3, groups: c.dim });
    h = linear(b.pw2, gelu(linear(b.pw1, layerNorm(b.norm, h, 1e-6))));
    x = x.add(h.mul(b.gamma.ref));
  }
  return layerNorm(p.finalNorm, x, 1e-6);
}
