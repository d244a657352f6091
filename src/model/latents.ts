/**
 * The encoder's latent and the residual its RVQ stages leave, for a whole
 * normalised mel: what new RVQ stages would code. Computed block by block
 * exactly as encoding runs (pipeline.ts: BLOCK-frame blocks, MARGIN frames of
 * context, silence outside the signal and masked out of attention, cores kept),
 * because the encoder's attention sees its block and a latent depends on the
 * context it was given.
 */
import { denormalizeMel, normalizeMel, type MelStats } from "../audio/stats.js";
import { jit, np, tree, type JArray } from "../nn/runtime.js";
import { decoderPrior, encoderLatent, type CodecBuffers, type CodecParams } from "./codec.js";
import type { CodecConfig } from "./config.js";
import { BLOCK, blockStarts, CORE, MARGIN, validFrames } from "./pipeline.js";
import { nearestCode } from "./rvq.js";

export interface Latents {
  /** Encoder output z [frames, dim] (unquantised). */
  z: Float32Array;
  /** z minus its greedy RVQ approximation by all the model's stages [frames, dim]. */
  residual: Float32Array;
}

export class LatentProbe {
  private fn: (p: CodecParams, b: CodecBuffers, mel: JArray, valid: JArray) => JArray;

  constructor(
    private codec: CodecParams,
    private buffers: CodecBuffers,
    private config: CodecConfig,
    private stats: MelStats,
  ) {
    const c = config;
    // [BLOCK, 2 dim]: z, then its residual; the stage search is encodeCodes's (nearestCode), so codes agree.
    this.fn = jit((p: CodecParams, b: CodecBuffers, mel: JArray, valid: JArray) => {
      const z = encoderLatent(p, c, mel, valid.ref).reshape([BLOCK, c.rvq.dim]);
      valid.dispose();
      let r = z.ref;
      for (const cb of b.codebooks) {
        const idx = nearestCode(r.ref, cb.ref);
        r = r.sub(np.take(cb, idx, 0));
      }
      return np.concatenate([z, r], 1);
    }) as never;
  }

  /** Latents of a log-mel (not normalised) [frames, nMels]. */
  latents(mel: Float32Array, frames: number): Latents {
    const n = this.config.nMels;
    const D = this.config.rvq.dim;
    const norm = normalizeMel({ frames, bands: n, data: mel }, this.stats).data;
    const silence = normalizeMel({ frames: 1, bands: n, data: new Float32Array(n).fill(Math.log(1e-5)) }, this.stats).data;
    const z = new Float32Array(frames * D);
    const residual = new Float32Array(frames * D);
    const block = new Float32Array(BLOCK * n);
    for (const start of blockStarts(frames)) {
      for (let i = 0; i < BLOCK; i++) {
        const t = start - MARGIN + i;
        block.set(t >= 0 && t < frames ? norm.subarray(t * n, (t + 1) * n) : silence, i * n);
      }
      const out = this.fn(tree.ref(this.codec), tree.ref(this.buffers), np.array(block).reshape([1, BLOCK, n]), np.array(validFrames(start, frames)));
      const host = out.dataSync() as Float32Array;
      for (let i = 0; i < CORE && start + i < frames; i++) {
        const row = (MARGIN + i) * 2 * D;
        z.set(host.subarray(row, row + D), (start + i) * D);
        residual.set(host.subarray(row + D, row + 2 * D), (start + i) * D);
      }
    }
    return { z, residual };
  }
}

/**
 * The prior mel (denormalised) [frames, nMels] a codec's decoder makes from
 * latents zq [frames, dim], block by block as decoding runs (edge frames repeat,
 * as decoding does with codes, masked out of attention; cores kept, no cross-fade): for measuring what a
 * quantiser of the latent costs in the mel (scripts/prior-by-stages.ts).
 */
export class PriorProbe {
  private fn: (p: CodecParams, zq: JArray, valid: JArray) => JArray;

  constructor(
    private codec: CodecParams,
    private config: CodecConfig,
    private stats: MelStats,
  ) {
    this.fn = jit((p: CodecParams, zq: JArray, valid: JArray) => {
      const mu = decoderPrior(p, config, zq, valid.ref);
      valid.dispose();
      return mu;
    }) as never;
  }

  prior(zq: Float32Array, frames: number): Float32Array {
    const n = this.config.nMels;
    const D = this.config.rvq.dim;
    const out = new Float32Array(frames * n);
    for (const start of blockStarts(frames)) {
      const z = new Float32Array(BLOCK * D);
      for (let i = 0; i < BLOCK; i++) {
        const t = Math.min(frames - 1, Math.max(0, start - MARGIN + i));
        z.set(zq.subarray(t * D, (t + 1) * D), i * D);
      }
      const mu = this.fn(tree.ref(this.codec), np.array(z).reshape([1, BLOCK, D]), np.array(validFrames(start, frames))).dataSync() as Float32Array;
      for (let i = 0; i < CORE && start + i < frames; i++) out.set(mu.subarray((MARGIN + i) * n, (MARGIN + i + 1) * n), (start + i) * n);
    }
    return denormalizeMel({ frames, bands: n, data: out }, this.stats).data;
  }
}
