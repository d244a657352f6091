/** Generic byte-level mutations shared by the .fmac and audio fuzzers, all drawn from one seeded Rng. */
import type { Rng } from "../../src/nn/rng.js";
import { concatBytes } from "../../src/util/bytes.js";

/** Values that often sit on a parser's boundaries, for fields of any width (truncated to fit). */
export const EDGE_VALUES = [0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff];

export function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

/** Index into `weights` drawn in proportion to its entries. */
export function weightedIndex(rng: Rng, weights: readonly number[]): number {
  let r = rng.uniform() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]) < 0) return i;
  return weights.length - 1;
}

/** An unsigned value for a field of `bits` bits: an edge value, a neighbour of `current`, or uniform. */
export function fieldValue(rng: Rng, bits: number, current: number): number {
  const max = 2 ** bits;
  const r = rng.uniform();
  let v: number;
  if (r < 0.4) v = pick(rng, EDGE_VALUES);
  else if (r < 0.7) v = current + (rng.int(2) ? 1 : -1) * (1 + rng.int(rng.int(2) ? 4 : 1024));
  else v = Math.floor(rng.uniform() * max);
  return ((v % max) + max) % max;
}

export function flipBits(rng: Rng, b: Uint8Array, count: number, from = 0, to = b.length): Uint8Array {
  const out = Uint8Array.from(b);
  const span = Math.max(1, Math.min(to, out.length) - from);
  for (let i = 0; i < count && out.length; i++) out[Math.min(out.length - 1, from + rng.int(span))] ^= 1 << rng.int(8);
  return out;
}

export function overwriteBytes(rng: Rng, b: Uint8Array, count: number, from = 0, to = b.length): Uint8Array {
  const out = Uint8Array.from(b);
  const span = Math.max(1, Math.min(to, out.length) - from);
  for (let i = 0; i < count && out.length; i++) out[Math.min(out.length - 1, from + rng.int(span))] = rng.int(2) ? rng.int(256) : pick(rng, [0, 0xff, 0x7f, 0x80]);
  return out;
}

export function truncate(rng: Rng, b: Uint8Array): Uint8Array {
  return b.slice(0, rng.int(b.length));
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

/** `b` with up to `max` bytes appended: random, zeros, or a copy of its own start. */
export function extend(rng: Rng, b: Uint8Array, max = 1024): Uint8Array {
  const n = 1 + rng.int(rng.int(2) ? 8 : max);
  const kind = rng.int(3);
  const tail = kind === 0 ? randomBytes(rng, n) : kind === 1 ? new Uint8Array(n) : b.slice(0, Math.min(n, b.length));
  return concat(b, tail);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}
