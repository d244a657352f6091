/**
 * BigVGAN-style generator: conv-pre, transposed-conv up-sampling whose rates
 * multiply to the hop (512), anti-aliased multi-periodicity (AMP) residual
 * blocks with SnakeBeta, conv-post and tanh. Every layer after the first
 * runs at an audio-rate multiple, so it is far slower than Vocos on a CPU.
 */
import type { Rng } from "../nn/rng.js";
import { initConv1d, initConvTranspose1d, zeros, type ConvParams } from "../nn/init.js";
import { conv1d, convTranspose1d, snakeBeta } from "../nn/layers.js";
import { antiAliased, antialiasFilterArray } from "../nn/antialias.js";
import { np, type JArray } from "../nn/runtime.js";

export interface BigVganConfig {
  kind: "bigvgan";
  nMels: number;
  initialChannels: number;
  upsampleRates: number[];
  upsampleKernels: number[];
  resblockKernels: number[];
  resblockDilations: number[][];
}

type SnakeParams = { alpha: JArray; beta: JArray };
type AmpParams = { convs1: ConvParams[]; convs2: ConvParams[]; acts1: SnakeParams[]; acts2: SnakeParams[] };
export type BigVganParams = { pre: ConvParams; ups: ConvParams[]; blocks: AmpParams[][]; postAct: SnakeParams; post: ConvParams };

const initSnake = (c: number): SnakeParams => ({ alpha: zeros([c]), beta: zeros([c]) });

export function initBigVgan(rng: Rng, c: BigVganConfig): BigVganParams {
  const ups: ConvParams[] = [];
  const blocks: AmpParams[][] = [];
  let ch = c.initialChannels;
  c.upsampleRates.forEach((_, i) => {
    const out = ch / 2;
    ups.push(initConvTranspose1d(rng, ch, out, c.upsampleKernels[i]));
    blocks.push(
      c.resblockKernels.map((k, j) => ({
        convs1: c.resblockDilations[j].map(() => initConv1d(rng, out, out, k)),
        convs2: c.resblockDilations[j].map(() => initConv1d(rng, out, out, k)),
        acts1: c.resblockDilations[j].map(() => initSnake(out)),
        acts2: c.resblockDilations[j].map(() => initSnake(out)),
      })),
    );
    ch = out;
  });
  return { pre: initConv1d(rng, c.nMels, c.initialChannels, 7), ups, blocks, postAct: initSnake(ch), post: initConv1d(rng, ch, 1, 7, { bias: false }) };
}

function amp(p: AmpParams, x: JArray, k: number, dilations: number[], filter: JArray): JArray {
  dilations.forEach((d, i) => {
    let h = antiAliased(x.ref, (y) => snakeBeta(p.acts1[i].alpha, p.acts1[i].beta, y), filter);
    h = conv1d(p.convs1[i], h, { dilation: d, padding: (d * (k - 1)) / 2 });
    h = antiAliased(h, (y) => snakeBeta(p.acts2[i].alpha, p.acts2[i].beta, y), filter);
    h = conv1d(p.convs2[i], h, { padding: (k - 1) / 2 });
    x = x.add(h);
  });
  return x;
}

/** mel [B, T, nMels] -> audio [B, T * prod(upsampleRates)]. */
export function bigvgan(p: BigVganParams, c: BigVganConfig, mel: JArray): JArray {
  const filter = antialiasFilterArray();
  let x = conv1d(p.pre, mel, { padding: 3 });
  c.upsampleRates.forEach((r, i) => {
    const k = c.upsampleKernels[i];
    x = convTranspose1d(p.ups[i], x, { stride: r, padding: (k - r) / 2 });
    let acc: JArray | null = null;
    c.resblockKernels.forEach((rk, j) => {
      const y = amp(p.blocks[i][j], x.ref, rk, c.resblockDilations[j], filter);
      acc = acc ? acc.add(y) : y;
    });
    x.dispose();
    x = acc!.mul(1 / c.resblockKernels.length);
  });
  x = antiAliased(x, (y) => snakeBeta(p.postAct.alpha, p.postAct.beta, y), filter);
  filter.dispose();
  const y = np.tanh(conv1d(p.post, x, { padding: 3 }));
  const [B, N] = y.shape;
  return y.reshape([B, N]);
}
