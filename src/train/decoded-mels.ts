/**
 * Mels as a codec decodes them, for training a vocoder on what it will be given
 * (TTS vocoders are fine-tuned on predicted mels for the same reason). A crop's
 * mel is coded with CONTEXT frames of context each side (edge frames repeated
 * past the clip, as the pipeline pads), decoded to the prior mel by the frozen
 * codec, and the crop's frames are kept. Every call has one shape, so the jitted
 * codec compiles once per crop length.
 */
import { denormalizeMel, normalizeMel } from "../audio/stats.js";
import type { InferenceEngine } from "../model/engine.js";
import { JaxEngine } from "../model/jax-engine.js";
import { loadModel, readModelDir } from "../model/load.js";
import type { Rng } from "../nn/rng.js";
import { BANDS } from "./clip.js";

const CONTEXT = 32;
/** Share of crops decoded at the lowest rate the codec trains for (4 of 8 stages: 1.5 kbit/s). */
const LOW_RATE_SHARE = 0.25;

export class DecodedMels {
  private constructor(private readonly engine: InferenceEngine) {}

  static async open(modelDir: string): Promise<DecodedMels> {
    const m = await loadModel(readModelDir(modelDir));
    return new DecodedMels(new JaxEngine(m.info, m.codec, m.buffers, m.generator));
  }

  /** Log-mel [F, 128] of frames [f0, f0 + F) of `mel(start, n)` (a clip of `frames` frames) as the codec decodes it. */
  async decode(mel: (start: number, n: number) => Float32Array, frames: number, f0: number, F: number, rng: Rng | null): Promise<Float32Array> {
    const { codec, stats } = this.engine.info;
    const W = F + 2 * CONTEXT;
    const window = new Float32Array(W * BANDS);
    const from = Math.max(0, f0 - CONTEXT);
    const to = Math.min(frames, f0 + F + CONTEXT);
    const have = mel(from, to - from);
    for (let i = 0; i < W; i++) {
      const t = Math.min(to - 1, Math.max(from, f0 - CONTEXT + i));
      window.set(have.subarray((t - from) * BANDS, (t - from + 1) * BANDS), i * BANDS);
    }
    const norm = normalizeMel({ frames: W, bands: BANDS, data: window }, stats).data;
    const codes = await this.engine.encode(norm, W);
    const S = codec.rvq.stages;
    const stages = rng && rng.uniform() < LOW_RATE_SHARE ? Math.max(1, Math.floor(S / 2)) : S;
    const mask = Float32Array.from({ length: S }, (_, s) => (s < stages ? 1 : 0));
    const mu = await this.engine.prior(codes, mask, W);
    const crop = mu.slice(CONTEXT * BANDS, (CONTEXT + F) * BANDS);
    return denormalizeMel({ frames: F, bands: BANDS, data: crop }, stats).data;
  }
}
