/**
 * Mels as a codec decodes them, for training a vocoder on what it will be given
 * (TTS vocoders are fine-tuned on predicted mels for the same reason). A crop's
 * mel is coded in the middle of one pipeline block (BLOCK frames, edge frames
 * repeated past the clip, as the pipeline pads), decoded to the prior mel by the
 * frozen codec, and the crop's frames are kept. Every call has the pipeline's
 * one shape, so the ONNX engine (the default: ~10x faster than jax-js here)
 * runs the exported graphs as they are.
 */
import { denormalizeMel, normalizeMel } from "../audio/stats.js";
import { FRAME_RATE } from "../model/config.js";
import type { InferenceEngine } from "../model/engine.js";
import { openEngine, type EngineName } from "../model/open.js";
import { BLOCK, MARGIN } from "../model/pipeline.js";
import type { Rng } from "../nn/rng.js";
import { BANDS } from "./clip.js";

/** The product's rates and how often a crop is decoded at each: 3 kbit/s twice as often as 1.5 and 6. */
const RATE_SHARES: [kbps: number, weight: number][] = [
  [1.5, 1],
  [3, 2],
  [6, 1],
];

/** Stage counts of the rates the codec serves (those within its `stages`) and their cumulative shares; the top stage count alone when none fits. */
export function rateStages(stages: number, codebookSize: number): { stages: number[]; cumulative: number[] } {
  const perStage = (FRAME_RATE * Math.log2(codebookSize)) / 1000;
  const fit = RATE_SHARES.map(([kbps, w]) => [Math.round(kbps / perStage), w] as const).filter(([s]) => s >= 1 && s <= stages);
  if (fit.length === 0) return { stages: [stages], cumulative: [1] };
  const total = fit.reduce((a, [, w]) => a + w, 0);
  let acc = 0;
  return { stages: fit.map(([s]) => s), cumulative: fit.map(([, w]) => (acc += w / total)) };
}

export class DecodedMels {
  private readonly rates: { stages: number[]; cumulative: number[] };
  /** Stage count of validation crops (no rng): 3 kbit/s where the codec has it. */
  private readonly fixedStages: number;

  private constructor(
    private readonly engine: InferenceEngine,
    /** Share of training crops given as decoded (the rest keep the true mel, so the vocoder stays good on both). */
    readonly share: number,
  ) {
    const { rvq } = engine.info.codec;
    this.rates = rateStages(rvq.stages, rvq.codebookSize);
    const three = this.rates.stages.find((s) => Math.abs((s * FRAME_RATE * Math.log2(rvq.codebookSize)) / 1000 - 3) < 0.1);
    this.fixedStages = three ?? rvq.stages;
  }

  static async open(modelDir: string, share = 1, engine: EngineName = "onnx"): Promise<DecodedMels> {
    if (!(share > 0 && share <= 1)) throw new RangeError(`decoded share ${share} is not in (0, 1]`);
    return new DecodedMels(await openEngine(modelDir, engine), share);
  }

  /** Whether a training crop is decoded (draws from `rng`). */
  pick(rng: Rng): boolean {
    return this.share >= 1 || rng.uniform() < this.share;
  }

  /** Stage count of one crop: a product rate drawn by RATE_SHARES, or the fixed validation rate when `rng` is null. */
  stagesFor(rng: Rng | null): number {
    if (!rng) return this.fixedStages;
    const u = rng.uniform();
    return this.rates.stages[this.rates.cumulative.findIndex((c) => u < c)] ?? this.rates.stages[this.rates.stages.length - 1];
  }

  /** Log-mel [F, 128] of frames [f0, f0 + F) of `mel(start, n)` (a clip of `frames` frames) as the codec decodes it. */
  async decode(mel: (start: number, n: number) => Float32Array, frames: number, f0: number, F: number, rng: Rng | null): Promise<Float32Array> {
    if (F > BLOCK - 2 * MARGIN) throw new RangeError(`crops of ${F} frames exceed a block's core (${BLOCK - 2 * MARGIN})`);
    const { codec, stats } = this.engine.info;
    const left = Math.floor((BLOCK - F) / 2);
    const window = new Float32Array(BLOCK * BANDS);
    const from = Math.max(0, f0 - left);
    const to = Math.min(frames, f0 - left + BLOCK);
    const have = mel(from, to - from);
    for (let i = 0; i < BLOCK; i++) {
      const t = Math.min(to - 1, Math.max(from, f0 - left + i));
      window.set(have.subarray((t - from) * BANDS, (t - from + 1) * BANDS), i * BANDS);
    }
    const norm = normalizeMel({ frames: BLOCK, bands: BANDS, data: window }, stats).data;
    const S = codec.rvq.stages;
    const stages = this.stagesFor(rng);
    const codes = await this.engine.encode(norm, BLOCK, { stages });
    // The search codes `stages` stages ([stages, BLOCK]); the prior takes all S, masked.
    const all = new Int32Array(S * BLOCK);
    all.set(codes.subarray(0, stages * BLOCK));
    const mask = Float32Array.from({ length: S }, (_, s) => (s < stages ? 1 : 0));
    const mu = await this.engine.prior(all, mask, BLOCK);
    const crop = mu.slice(left * BANDS, (left + F) * BANDS);
    return denormalizeMel({ frames: F, bands: BANDS, data: crop }, stats).data;
  }

  dispose(): void {
    this.engine.dispose();
  }
}
