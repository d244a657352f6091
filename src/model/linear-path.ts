/**
 * The residual linear paths of a `linearPath` codec: a trainable PCA-like
 * projection of the normalised mel into the RVQ space and its transpose back.
 * With V and m from a fitted linear codec (components^T and mean), projecting
 * and reconstructing are exactly that codec's encode and decode.
 */
import type { Rng } from "../nn/rng.js";
import { normalParam, zeros } from "../nn/init.js";
import { mm } from "../nn/layers.js";
import type { JArray } from "../nn/runtime.js";

/** v: directions as columns [nMels, dim]; m: the mean frame [nMels]. */
export type LinearPathParams = { v: JArray; m: JArray };

/** A random start (roughly orthonormal columns, zero mean) for a codec trained without a linear codec. */
export function initLinearPath(rng: Rng, nMels: number, dim: number): LinearPathParams {
  return { v: normalParam(rng, [nMels, dim], 1 / Math.sqrt(nMels)), m: zeros([nMels]) };
}

/** (x - m) V: [B, T, nMels] -> [B, T, dim]. */
export function linearProject(p: LinearPathParams, x: JArray): JArray {
  const [B, T, n] = x.shape;
  const centred = x.sub(p.m.ref).reshape([B * T, n]);
  return mm(centred, p.v.ref).reshape([B, T, -1]);
}

/** z V^T + m: [B, T, dim] -> [B, T, nMels]. */
export function linearReconstruct(p: LinearPathParams, z: JArray): JArray {
  const [B, T, d] = z.shape;
  return mm(z.reshape([B * T, d]), p.v.ref.transpose()).add(p.m.ref).reshape([B, T, -1]);
}
