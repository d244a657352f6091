/** The mel encoder and mel decoder of FlowMAC: a 1x1 projection plus N transformer blocks (post-LN, RoPE, local attention). */
import type { Rng } from "../nn/rng.js";
import { initLinear, type LinearParams } from "../nn/init.js";
import { linear, localAttention, ropeTables } from "../nn/layers.js";
import { initTransformerBlock, transformerBlock, type TransformerBlockParams } from "../nn/transformer.js";
import { random, type JArray } from "../nn/runtime.js";
import type { TransformerStackConfig } from "./config.js";

export type TransformerStackParams = {
  inProj: LinearParams;
  blocks: TransformerBlockParams[];
  outProj: LinearParams;
};

export function initTransformerStack(rng: Rng, c: TransformerStackConfig, inDim: number, outDim: number): TransformerStackParams {
  return {
    inProj: initLinear(rng, inDim, c.dim),
    blocks: Array.from({ length: c.layers }, () => initTransformerBlock(rng, c.dim, c.ffDim)),
    outProj: initLinear(rng, c.dim, outDim),
  };
}

/**
 * [B, T, inDim] -> [B, T, outDim]. `key` enables dropout (training); it is consumed.
 * `valid` [T] (borrowed): 1 for frames of the signal, 0 for padding, which gets a -1e9 bias as an
 * attention key and then changes no frame of the signal (every other layer works frame by frame).
 */
export function transformerStack(p: TransformerStackParams, c: TransformerStackConfig, x: JArray, key: JArray | null = null, valid?: JArray): JArray {
  const T = x.shape[1];
  const rope = ropeTables(T, c.dim / c.heads);
  const { mask, band } = localAttention(T, c.window);
  const keyBias = valid?.ref.sub(1).mul(1e9);
  const keys = key && c.dropout > 0 ? random.split(key, p.blocks.length) : null;
  if (key && !keys) key.dispose();
  let h = linear(p.inProj, x);
  p.blocks.forEach((b, i) => {
    h = transformerBlock(b, h, {
      heads: c.heads, norm: "post", rope, mask, band, keyBias, dropout: c.dropout,
      key: keys ? keys.ref.slice(i) : null,
    });
  });
  keys?.dispose();
  rope.cos.dispose();
  rope.sin.dispose();
  mask?.dispose();
  keyBias?.dispose();
  return linear(p.outProj, h);
}
