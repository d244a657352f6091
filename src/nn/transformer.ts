/**
 * Transformer blocks on [B, T, D]. `post` is the original (and FlowMAC
 * encoder's) order: x = LN(x + Drop(MHA(x))); x = LN(x + Drop(FF(x))).
 * `pre` normalises before each sub-layer (Matcha-TTS's decoder blocks).
 */
import type { Rng } from "./rng.js";
import { initLinear, initNorm, type NormParams } from "./init.js";
import {
  dropout, feedForward, gelu, layerNorm, selfAttention,
  type AttentionBand, type AttentionParams, type FeedForwardParams,
} from "./layers.js";
import { random, type JArray } from "./runtime.js";

export type TransformerBlockParams = {
  attn: AttentionParams;
  ln1: NormParams;
  ff: FeedForwardParams;
  ln2: NormParams;
};

export interface TransformerOptions {
  heads: number;
  norm: "pre" | "post";
  mask?: JArray;
  band?: AttentionBand;
  rope?: { cos: JArray; sin: JArray };
  /** Per key frame [T]: see AttentionOptions.keyBias. */
  keyBias?: JArray;
  dropout?: number;
  /** PRNG key for dropout; absent in evaluation. Consumed. */
  key?: JArray | null;
  act?: (x: JArray) => JArray;
}

export function initTransformerBlock(rng: Rng, dim: number, ffDim: number, bias = true): TransformerBlockParams {
  return {
    attn: {
      q: initLinear(rng, dim, dim, bias),
      k: initLinear(rng, dim, dim, bias),
      v: initLinear(rng, dim, dim, bias),
      o: initLinear(rng, dim, dim, bias),
    },
    ln1: initNorm(dim),
    ff: { l1: initLinear(rng, dim, ffDim), l2: initLinear(rng, ffDim, dim) },
    ln2: initNorm(dim),
  };
}

export function transformerBlock(p: TransformerBlockParams, x: JArray, o: TransformerOptions): JArray {
  const rate = o.dropout ?? 0;
  let k1: JArray | null = null;
  let k2: JArray | null = null;
  if (o.key) {
    const keys = random.split(o.key, 2);
    k1 = keys.ref.slice(0);
    k2 = keys.slice(1);
  }
  const attn = (y: JArray) => dropout(selfAttention(p.attn, y, { heads: o.heads, mask: o.mask, band: o.band, rope: o.rope, keyBias: o.keyBias }), rate, k1);
  const ff = (y: JArray) => dropout(feedForward(p.ff, y, o.act ?? gelu), rate, k2);
  if (o.norm === "post") {
    const h = layerNorm(p.ln1, x.ref.add(attn(x)));
    return layerNorm(p.ln2, h.ref.add(ff(h)));
  }
  const h = x.ref.add(attn(layerNorm(p.ln1, x)));
  return h.ref.add(ff(layerNorm(p.ln2, h)));
}
