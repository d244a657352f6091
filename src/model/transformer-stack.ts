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

/** keyBias for transformerStack from a validity mask [T] (1: a frame of the signal, 0: padding). */
export function keyBiasOf(valid: JArray): JArray {
  return valid.sub(1).mul(1e9);
}

/**
 * [B, T, inDim] -> [B, T, outDim]. `key` enables dropout (training); it is consumed.
 * `keyBias` [T] (borrowed): 0 for frames of the signal, -1e9 for padding (keyBiasOf), which then
 * changes no frame of the signal (every other layer works frame by frame).
 */
export function transformerStack(p: TransformerStackParams, c: TransformerStackConfig, x: JArray, key: JArray | null = null, keyBias?: JArray): JArray {
  const T = x.shape[1];
  const rope = ropeTables(T, c.dim / c.heads);
  const { mask, band } = localAttention(T, c.window);
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
  return linear(p.outProj, h);
}
