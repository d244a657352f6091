/**
 * The FlowMAC codec model: mel encoder -> residual VQ -> mel decoder (the
 * "prior" mel) -> CFM decoder. This file holds the training objective and the
 * reference (jax-js) inference; the bitstream and the audio ends live elsewhere.
 */
import type { Rng } from "../nn/rng.js";
import { timeEmbeddingValues } from "../nn/time-embedding.js";
import { np, type JArray } from "../nn/runtime.js";
import { cfmVectorField, initCfm, type CfmParams } from "./cfm.js";
import type { CodecConfig } from "./config.js";
import { mm } from "../nn/layers.js";
import { initRvq, quantize, type RvqBuffers } from "./rvq.js";
import { metricParts } from "./search-metric.js";
import { initLinearPath, linearProject, linearReconstruct, type LinearPathParams } from "./linear-path.js";
import { initTransformerStack, transformerStack, type TransformerStackParams } from "./transformer-stack.js";

export type CodecParams = { encoder: TransformerStackParams; decoder: TransformerStackParams; cfm: CfmParams; linearPath?: LinearPathParams };
export type CodecBuffers = RvqBuffers;

export function initCodec(rng: Rng, c: CodecConfig): { params: CodecParams; buffers: CodecBuffers } {
  const params: CodecParams = {
    encoder: initTransformerStack(rng, c.encoder, c.nMels, c.rvq.dim),
    decoder: initTransformerStack(rng, c.decoder, c.rvq.dim, c.nMels),
    cfm: initCfm(rng, c.cfm, c.nMels),
  };
  const buffers = initRvq(rng, c.rvq);
  if (c.linearPath) {
    // The stacks start silent, so that the codec starts as its linear paths alone.
    zeroOutProj(params.encoder);
    zeroOutProj(params.decoder);
    params.linearPath = initLinearPath(rng, c.nMels, c.rvq.dim);
  }
  return { params, buffers };
}

function zeroOutProj(p: TransformerStackParams): void {
  const { w, b } = p.outProj;
  p.outProj = { w: np.zeros(w.shape), ...(b ? { b: np.zeros(b.shape) } : {}) };
  w.dispose();
  b?.dispose();
}

/** Latent of the encoder: the stack's output, plus the linear projection where the config has it. */
export function encoderLatent(p: CodecParams, c: CodecConfig, mel: JArray, valid?: JArray): JArray {
  if (!p.linearPath) return transformerStack(p.encoder, c.encoder, mel, null, valid);
  return transformerStack(p.encoder, c.encoder, mel.ref, null, valid).add(linearProject(p.linearPath, mel));
}

/** The prior mel of a quantised latent: the stack's output, plus the linear reconstruction where the config has it. */
export function decoderPrior(p: CodecParams, c: CodecConfig, zq: JArray, valid?: JArray): JArray {
  if (!p.linearPath) return transformerStack(p.decoder, c.decoder, zq, null, valid);
  return transformerStack(p.decoder, c.decoder, zq.ref, null, valid).add(linearReconstruct(p.linearPath, zq));
}

/** Host-sampled randomness of one training batch (so that a step is a pure function of its inputs). */
export interface CodecBatch {
  /** Normalised target mel [B, T, nMels]. */
  mel: JArray;
  /** x0 ~ N(0, I), [B, T, nMels]. */
  noise: JArray;
  /** Flow time per example [B, 1, 1]. */
  t: JArray;
  /** Sinusoidal embedding of t [B, channels[0]]. */
  tEmb: JArray;
  /** 1 keeps the condition, 0 drops it (classifier-free guidance) [B, 1, 1]. */
  condMask: JArray;
  /** Active RVQ stages per example [S, B] (quantizer dropout). */
  stageMask: JArray;
}

export interface CodecLossAux {
  prior: JArray;
  cfm: JArray;
  commit: JArray;
  codes: JArray;
  residuals: JArray;
}

/**
 * [n, n] with x @ D = x[..., m + 1] - x[..., m] in column m (the last column 0, which keeps
 * the width a multiple of the SIMD lanes).
 */
export function bandDifferences(n: number): JArray {
  const d = new Float32Array(n * n);
  for (let m = 0; m + 1 < n; m++) {
    d[(m + 1) * n + m] = 1;
    d[m * n + m] = -1;
  }
  return np.array(d).reshape([n, n]);
}

/**
 * L = lambda_p (MSE + MAE prior) + lambda_v commitment + L_CFM (+ lambda_d times the MAE of the
 * prior's band differences, where the config has `loss.bandDelta`), returned with its parts.
 */
export function codecLoss(p: CodecParams, buffers: CodecBuffers, c: CodecConfig, batch: CodecBatch): [JArray, CodecLossAux] {
  const sigma = c.cfm.sigmaMin;
  const z = encoderLatent(p, c, batch.mel.ref);
  const q = quantize(buffers, z, batch.stageMask);
  const mu = decoderPrior(p, c, q.zq);
  const diff = mu.ref.sub(batch.mel.ref);
  const bandDelta = c.loss.bandDelta ?? 0;
  const delta = bandDelta > 0 ? np.abs(mm(diff.ref, bandDifferences(c.nMels))).mean() : null;
  const prior = np.square(diff.ref).mean().add(np.abs(diff).mean());
  /** The prior's share of the loss. */
  const priorLoss = () => (delta ? prior.ref.mul(c.loss.prior).add(delta.mul(bandDelta)) : prior.ref.mul(c.loss.prior));
  const cfmWeight = c.loss.cfm ?? 1;
  if (cfmWeight === 0) {
    // Prior-first: no flow-matching term, so the CFM's parameters get zero gradients and the step skips its work.
    for (const x of [mu, batch.mel, batch.noise, batch.t, batch.tEmb, batch.condMask]) x.dispose();
    const loss = priorLoss().add(q.commit.ref.mul(c.loss.vq));
    // The logged CFM term is 0 (as prior × 0: jax-js's traced steps read a constant output as NaN).
    return [loss, { prior: prior.ref, cfm: prior.mul(0), commit: q.commit, codes: q.codes, residuals: q.residuals }];
  }
  // Optimal-transport path: x_t = (1 - (1 - sigma) t) x0 + t x1, target u = x1 - (1 - sigma) x0.
  const t = batch.t;
  const xt = batch.noise.ref.mul(np.ones([]).sub(t.ref.mul(1 - sigma))).add(batch.mel.ref.mul(t));
  const u = batch.mel.sub(batch.noise.mul(1 - sigma));
  const v = cfmVectorField(p.cfm, c.cfm, xt, mu.mul(batch.condMask), batch.tEmb);
  const cfm = np.square(v.sub(u)).mean();
  const loss = priorLoss().add(q.commit.ref.mul(c.loss.vq)).add(cfmWeight === 1 ? cfm.ref : cfm.ref.mul(cfmWeight));
  return [loss, { prior, cfm, commit: q.commit, codes: q.codes, residuals: q.residuals }];
}

/** Logit-normal flow time: sigmoid of a standard normal draw. */
export function sampleFlowTime(rng: Rng): number {
  return 1 / (1 + Math.exp(-rng.normal()));
}

/** A codec batch as host arrays (the ONNX training step feeds these; the jax-js one uploads them). */
export type HostCodecBatch = { [K in keyof CodecBatch]: { data: Float32Array; shape: number[] } };

/** Draws the host-side randomness of a codec training batch. */
export function sampleCodecBatchHost(rng: Rng, c: CodecConfig, mel: Float32Array, B: number, T: number): HostCodecBatch {
  const S = c.rvq.stages;
  const t = Float32Array.from({ length: B }, () => sampleFlowTime(rng));
  const cond = Float32Array.from({ length: B }, () => (rng.uniform() < c.cfm.condDropProb ? 0 : 1));
  const stageMask = new Float32Array(S * B);
  for (let b = 0; b < B; b++) {
    const n = rng.uniform() < c.rvq.dropoutProb ? c.rvq.minStages + rng.int(S - c.rvq.minStages + 1) : S;
    for (let s = 0; s < n; s++) stageMask[s * B + b] = 1;
  }
  return {
    mel: { data: mel, shape: [B, T, c.nMels] },
    noise: { data: rng.normalArray(B * T * c.nMels), shape: [B, T, c.nMels] },
    t: { data: t, shape: [B, 1, 1] },
    tEmb: { data: timeEmbeddingValues(t, c.cfm.channels[0]), shape: [B, c.cfm.channels[0]] },
    condMask: { data: cond, shape: [B, 1, 1] },
    stageMask: { data: stageMask, shape: [S, B] },
  };
}

export function uploadCodecBatch(h: HostCodecBatch): CodecBatch {
  const up = (k: keyof CodecBatch) => np.array(h[k].data).reshape(h[k].shape);
  return { mel: up("mel"), noise: up("noise"), t: up("t"), tEmb: up("tEmb"), condMask: up("condMask"), stageMask: up("stageMask") };
}

export function sampleCodecBatch(rng: Rng, c: CodecConfig, mel: Float32Array, B: number, T: number): CodecBatch {
  return uploadCodecBatch(sampleCodecBatchHost(rng, c, mel, B, T));
}

/** The encoder search's metric parts (search-metric.ts) from this codec's linear path; empty without one (the plain metric). */
export function codecMetricParts(p: CodecParams, c: CodecConfig): Float32Array {
  return p.linearPath ? metricParts(p.linearPath.v.ref.dataSync() as Float32Array, c.nMels, c.rvq.dim) : new Float32Array(0);
}

/**
 * Inference encoder: normalised mel [1, T, nMels] -> scores [T, S*K] of the
 * latent against every entry of every stage, stage-major within a frame:
 * z·c for the rows `scoreBooks` [S*K, dim] (the codebooks as the search's
 * metric weighs them, search-metric.ts). The RVQ search that turns them into
 * codes runs on the host (rvq-search.ts): a beam search is data-dependent,
 * while this product is one matrix multiply.
 */
export function encodeScores(p: CodecParams, scoreBooks: JArray, c: CodecConfig, mel: JArray, valid?: JArray): JArray {
  const T = mel.shape[1];
  const z = encoderLatent(p, c, mel, valid).reshape([T, c.rvq.dim]);
  valid?.dispose();
  return mm(z, scoreBooks.transpose());
}

/**
 * Inference prior from a latent zq [1, T, dim] the host has made (a predictive
 * stream's, predictive-rvq.ts) -> the decoded quantised mel mu [1, T, nMels].
 */
export function priorFromLatent(p: CodecParams, c: CodecConfig, zq: JArray, valid?: JArray): JArray {
  const mu = decoderPrior(p, c, zq, valid);
  valid?.dispose();
  return mu;
}

/**
 * Inference prior: codes [S, T] (int32) and a stage mask [S, T] (1 = stage used
 * in that frame) -> the decoded quantised mel mu [1, T, nMels]. The mask lets one
 * fixed-shape graph serve every bit rate, and a stream whose frames carry
 * different numbers of stages (rate allocation, bitstream.md).
 */
export function priorFromCodes(p: CodecParams, b: CodecBuffers, c: CodecConfig, codes: JArray, mask: JArray, valid?: JArray): JArray {
  const T = codes.shape[1];
  let zq: JArray | null = null;
  b.codebooks.forEach((cb, s) => {
    const q = np.take(cb.ref, codes.ref.slice(s), 0).mul(mask.ref.slice(s).reshape([T, 1]));
    zq = zq ? zq.add(q) : q;
  });
  codes.dispose();
  mask.dispose();
  const mu = decoderPrior(p, c, zq!.reshape([1, T, c.rvq.dim]), valid);
  valid?.dispose();
  return mu;
}

