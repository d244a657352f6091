/**
 * GAN discriminators for the vocoder. Multi-period (HiFi-GAN): the waveform
 * folded into [T/p, p] columns, each column convolved over time with k5 s3
 * (a conv2d with a (5, 1) kernel is exactly a 1-D conv per column).
 * Multi-resolution spectral: log-magnitude STFTs at several sizes, 1-D convs
 * over time with the frequency bins as channels (cheaper than UnivNet's 2-D
 * convs, which this CPU could not afford). Both report their intermediate
 * features for feature matching.
 */
import type { Rng } from "../nn/rng.js";
import { initConv1d, type ConvParams } from "../nn/init.js";
import { conv1d } from "../nn/layers.js";
import { jnn, np, type JArray } from "../nn/runtime.js";
import { magnitude } from "./spectral.js";

export interface DiscriminatorConfig {
  periods: number[];
  periodChannels: number[];
  resolutions: number[];
  spectralChannels: number;
}

type ConvStack = { convs: ConvParams[]; post: ConvParams };
export type DiscriminatorParams = { mpd: ConvStack[]; mrd: ConvStack[] };

export interface DiscOutput {
  logits: JArray[];
  feats: JArray[][];
}

export function initDiscriminators(rng: Rng, c: DiscriminatorConfig): DiscriminatorParams {
  const mpd = c.periods.map(() => {
    const ch = [1, ...c.periodChannels];
    const convs = ch.slice(1).map((o, i) => initConv1d(rng, ch[i], o, 5));
    const last = ch[ch.length - 1];
    convs.push(initConv1d(rng, last, last, 5));
    return { convs, post: initConv1d(rng, last, 1, 3) };
  });
  const mrd = c.resolutions.map((nFft) => {
    const C = c.spectralChannels;
    const bins = nFft / 2 + 1;
    return { convs: [initConv1d(rng, bins, C, 3), initConv1d(rng, C, C, 3), initConv1d(rng, C, C, 3), initConv1d(rng, C, C, 3)], post: initConv1d(rng, C, 1, 3) };
  });
  return { mpd, mrd };
}

const lrelu = (x: JArray) => jnn.leakyRelu(x, 0.1);

function periodDisc(p: ConvStack, x: JArray, period: number): { logits: JArray; feats: JArray[] } {
  const [B, N] = x.shape;
  const padN = Math.ceil(N / period) * period;
  if (padN > N) x = np.pad(x, [[0, 0], [0, padN - N]]);
  // [B, N/p, p] -> [B*p, N/p, 1]: each column is an independent sequence.
  let h = x.reshape([B, padN / period, period]).transpose([0, 2, 1]).reshape([B * period, padN / period, 1]);
  const feats: JArray[] = [];
  const n = p.convs.length;
  p.convs.forEach((cv, i) => {
    const last = i === n - 1;
    h = lrelu(conv1d(cv, h, last ? { padding: 2 } : { stride: 3, padding: 2 }));
    feats.push(h.ref);
  });
  const logits = conv1d(p.post, h, { padding: 1 });
  feats.push(logits.ref);
  return { logits, feats };
}

function spectralDisc(p: ConvStack, x: JArray, nFft: number): { logits: JArray; feats: JArray[] } {
  let h = np.log(magnitude(x, nFft, nFft / 4).add(1e-5));
  const feats: JArray[] = [];
  p.convs.forEach((cv, i) => {
    h = lrelu(conv1d(cv, h, i === 0 ? { padding: 1 } : { stride: i < 3 ? 2 : 1, padding: 1 }));
    feats.push(h.ref);
  });
  const logits = conv1d(p.post, h, { padding: 1 });
  feats.push(logits.ref);
  return { logits, feats };
}

/** All discriminators on audio [B, N] (N a multiple of the largest STFT size / 4). Consumes x. */
export function discriminate(p: DiscriminatorParams, c: DiscriminatorConfig, x: JArray): DiscOutput {
  const outs = [
    ...c.periods.map((per, i) => periodDisc(p.mpd[i], x.ref, per)),
    ...c.resolutions.map((n, i) => spectralDisc(p.mrd[i], x.ref, n)),
  ];
  x.dispose();
  return { logits: outs.map((o) => o.logits), feats: outs.map((o) => o.feats) };
}

/** Least-squares GAN discriminator loss: mean (1 - D(real))^2 + mean D(fake)^2, summed over discriminators. */
export function discriminatorLoss(real: JArray[], fake: JArray[]): JArray {
  return real
    .map((r, i) => np.square(np.ones([]).sub(r)).mean().add(np.square(fake[i]).mean()))
    .reduce((a, b) => a.add(b));
}

export function generatorAdvLoss(fake: JArray[]): JArray {
  return fake.map((f) => np.square(np.ones([]).sub(f)).mean()).reduce((a, b) => a.add(b));
}

/** Mean L1 between real and fake features, summed over discriminators (real features carry no gradient). */
export function featureMatchingLoss(real: JArray[][], fake: JArray[][]): JArray {
  let acc: JArray | null = null;
  real.forEach((rs, i) =>
    rs.forEach((r, j) => {
      const l = np.abs(r.sub(fake[i][j])).mean();
      acc = acc ? acc.add(l) : l;
    }),
  );
  return acc!;
}
