/** PyTorch's default initialisers (kaiming-uniform with a = sqrt(5), i.e. U(+-1/sqrt(fan_in))), seeded. */
import type { Rng } from "./rng.js";
import { np, type JArray } from "./runtime.js";

export function uniformParam(rng: Rng, shape: number[], bound: number): JArray {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.array(rng.uniformArray(n, -bound, bound)).reshape(shape);
}

export function normalParam(rng: Rng, shape: number[], std: number): JArray {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.array(rng.normalArray(n, std)).reshape(shape);
}

export const zeros = (shape: number[]): JArray => np.zeros(shape);
export const ones = (shape: number[]): JArray => np.ones(shape);
export const full = (shape: number[], v: number): JArray => np.full(shape, v);

export type LinearParams = { w: JArray; b?: JArray };
export type ConvParams = { w: JArray; b?: JArray };
export type NormParams = { g: JArray; b: JArray };

export function initLinear(rng: Rng, inF: number, outF: number, bias = true): LinearParams {
  const bound = 1 / Math.sqrt(inF);
  const p: LinearParams = { w: uniformParam(rng, [outF, inF], bound) };
  if (bias) p.b = uniformParam(rng, [outF], bound);
  return p;
}

/** Conv1d weight [out, in/groups, k] as in PyTorch. */
export function initConv1d(rng: Rng, inC: number, outC: number, k: number, opts: { groups?: number; bias?: boolean } = {}): ConvParams {
  const groups = opts.groups ?? 1;
  const bound = 1 / Math.sqrt((inC / groups) * k);
  const p: ConvParams = { w: uniformParam(rng, [outC, inC / groups, k], bound) };
  if (opts.bias ?? true) p.b = uniformParam(rng, [outC], bound);
  return p;
}

/** ConvTranspose1d weight [in, out, k] as in PyTorch (whose fan-in is out * k). */
export function initConvTranspose1d(rng: Rng, inC: number, outC: number, k: number): ConvParams {
  const bound = 1 / Math.sqrt(outC * k);
  return { w: uniformParam(rng, [inC, outC, k], bound), b: uniformParam(rng, [outC], bound) };
}

export function initNorm(channels: number): NormParams {
  return { g: ones([channels]), b: zeros([channels]) };
}
