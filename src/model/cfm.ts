/**
 * The conditional-flow-matching decoder's vector field v_t(x; mu), a
 * Matcha-TTS-style 1-D U-Net over time: ResnetBlock1D (conv k3 -> GroupNorm
 * -> Mish, twice, time embedding added between, 1x1 residual conv), pre-LN
 * transformer blocks with a SnakeBeta feed-forward, stride-2 conv down,
 * transposed-conv up with skip connections, mid blocks, a final Block1D and
 * a 1x1 conv. Input: concat(x_t, mu) on channels; channels-last [B, T, C].
 */
import type { Rng } from "../nn/rng.js";
import { initConv1d, initConvTranspose1d, initLinear, initNorm, normalParam, type ConvParams, type LinearParams, type NormParams } from "../nn/init.js";
import {
  conv1d, convTranspose1d, groupNorm, layerNorm, linear, localAttention, mish, ropeTables, selfAttention, silu, snakeBeta,
  type AttentionParams,
} from "../nn/layers.js";
import { np, type JArray } from "../nn/runtime.js";
import type { CfmConfig } from "./config.js";

type Block1DParams = { conv: ConvParams; norm: NormParams };
type ResnetParams = { block1: Block1DParams; block2: Block1DParams; time: LinearParams; res: ConvParams };
type CfmTransformerParams = {
  ln1: NormParams;
  attn: AttentionParams;
  ln2: NormParams;
  ff1: LinearParams;
  alpha: JArray;
  beta: JArray;
  ff2: LinearParams;
};
type LevelParams = { resnet: ResnetParams; transformers: CfmTransformerParams[]; resample: ConvParams };

export type CfmParams = {
  timeMlp: { l1: LinearParams; l2: LinearParams };
  down: LevelParams[];
  mid: { resnet: ResnetParams; transformers: CfmTransformerParams[] }[];
  up: LevelParams[];
  finalBlock: Block1DParams;
  finalProj: ConvParams;
};

const initBlock1D = (rng: Rng, i: number, o: number): Block1DParams => ({ conv: initConv1d(rng, i, o, 3), norm: initNorm(o) });

function initResnet(rng: Rng, i: number, o: number, tDim: number): ResnetParams {
  return { block1: initBlock1D(rng, i, o), block2: initBlock1D(rng, o, o), time: initLinear(rng, tDim, o), res: initConv1d(rng, i, o, 1) };
}

function initCfmTransformer(rng: Rng, dim: number, heads: number, headDim: number): CfmTransformerParams {
  const inner = heads * headDim;
  return {
    ln1: initNorm(dim),
    attn: { q: initLinear(rng, dim, inner, false), k: initLinear(rng, dim, inner, false), v: initLinear(rng, dim, inner, false), o: initLinear(rng, inner, dim) },
    ln2: initNorm(dim),
    ff1: initLinear(rng, dim, 4 * dim),
    alpha: normalParam(rng, [4 * dim], 0), // log-scale: exp(0) = 1
    beta: normalParam(rng, [4 * dim], 0),
    ff2: initLinear(rng, 4 * dim, dim),
  };
}

export function initCfm(rng: Rng, c: CfmConfig, nMels: number): CfmParams {
  const tIn = c.channels[0];
  const transformers = (dim: number) => Array.from({ length: c.blocksPerLevel }, () => initCfmTransformer(rng, dim, c.heads, c.headDim));
  const down: LevelParams[] = [];
  let inCh = 2 * nMels;
  for (const ch of c.channels) {
    // Every level ends in a k3 conv: stride 2 (down-sampling) except at the last level.
    down.push({ resnet: initResnet(rng, inCh, ch, c.timeEmbDim), transformers: transformers(ch), resample: initConv1d(rng, ch, ch, 3) });
    inCh = ch;
  }
  const top = c.channels[c.channels.length - 1];
  const mid = Array.from({ length: c.midBlocks }, () => ({ resnet: initResnet(rng, top, top, c.timeEmbDim), transformers: transformers(top) }));
  const upCh = [...c.channels].reverse().concat([c.channels[0]]);
  const up: LevelParams[] = [];
  for (let i = 0; i < upCh.length - 1; i++) {
    const last = i === upCh.length - 2;
    const o = upCh[i + 1];
    up.push({
      resnet: initResnet(rng, 2 * upCh[i], o, c.timeEmbDim),
      transformers: transformers(o),
      resample: last ? initConv1d(rng, o, o, 3) : initConvTranspose1d(rng, o, o, 4),
    });
  }
  return {
    timeMlp: { l1: initLinear(rng, tIn, c.timeEmbDim), l2: initLinear(rng, c.timeEmbDim, c.timeEmbDim) },
    down,
    mid,
    up,
    finalBlock: initBlock1D(rng, c.channels[0], c.channels[0]),
    finalProj: initConv1d(rng, c.channels[0], nMels, 1),
  };
}

/** Per-frame GroupNorm: a frame's output never depends on the sequence length (exact block-wise decoding). */
function block1D(p: Block1DParams, x: JArray, groups: number): JArray {
  return mish(groupNorm(p.norm, conv1d(p.conv, x, { padding: 1 }), groups, 1e-5, true));
}

function resnet(p: ResnetParams, x: JArray, temb: JArray, groups: number): JArray {
  const [B] = x.shape;
  const h = block1D(p.block1, x.ref, groups);
  const t = linear(p.time, mish(temb)).reshape([B, 1, -1]);
  return block1D(p.block2, h.add(t), groups).add(conv1d(p.res, x));
}

function cfmTransformer(p: CfmTransformerParams, x: JArray, heads: number, window: number): JArray {
  const T = x.shape[1];
  const inner = p.attn.q.w.shape[0];
  const rope = ropeTables(T, inner / heads);
  const { mask, band } = localAttention(T, window);
  const h = x.ref.add(selfAttention(p.attn, layerNorm(p.ln1, x), { heads, rope, mask, band }));
  rope.cos.dispose();
  rope.sin.dispose();
  mask?.dispose();
  const f = linear(p.ff2, snakeBeta(p.alpha, p.beta, linear(p.ff1, layerNorm(p.ln2, h.ref))));
  return h.add(f);
}

/** Frames the U-Net needs its input length to be a multiple of. */
export function cfmLengthMultiple(c: CfmConfig): number {
  return 2 ** (c.channels.length - 1);
}

/**
 * v_t(x; mu): x and mu [B, T, nMels] (T a multiple of cfmLengthMultiple),
 * tEmb [B, channels[0]] the sinusoidal embedding of t. Consumes x, mu, tEmb.
 */
export function cfmVectorField(p: CfmParams, c: CfmConfig, x: JArray, mu: JArray, tEmb: JArray): JArray {
  const temb = linear(p.timeMlp.l2, silu(linear(p.timeMlp.l1, tEmb)));
  let h = np.concatenate([x, mu], 2);
  const skips: JArray[] = [];
  p.down.forEach((lvl, i) => {
    const last = i === p.down.length - 1;
    h = resnet(lvl.resnet, h, temb.ref, c.groups);
    for (const tb of lvl.transformers) h = cfmTransformer(tb, h, c.heads, c.window);
    skips.push(h.ref);
    h = conv1d(lvl.resample, h, last ? { padding: 1 } : { stride: 2, padding: 1 });
  });
  for (const m of p.mid) {
    h = resnet(m.resnet, h, temb.ref, c.groups);
    for (const tb of m.transformers) h = cfmTransformer(tb, h, c.heads, c.window);
  }
  p.up.forEach((lvl, i) => {
    const last = i === p.up.length - 1;
    h = resnet(lvl.resnet, np.concatenate([h, skips.pop()!], 2), temb.ref, c.groups);
    for (const tb of lvl.transformers) h = cfmTransformer(tb, h, c.heads, c.window);
    h = last ? conv1d(lvl.resample, h, { padding: 1 }) : convTranspose1d(lvl.resample, h, { stride: 2, padding: 1 });
  });
  temb.dispose();
  return conv1d(p.finalProj, block1D(p.finalBlock, h, c.groups));
}
