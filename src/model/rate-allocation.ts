/**
 * Rate allocation over a stream: how many RVQ stages each frame carries, given
 * the bits the whole stream may spend. A frame of silence or a held vowel
 * leaves little to code after two or three stages while an onset needs them
 * all; a fixed count per frame spends as much on the former as on the latter.
 *
 * The counts minimise the total error sum_t D_t(n_t) subject to the bits
 *   sum_t (n_t * bitsPerIndex + changeBits(n_t - n_{t-1})) <= budget,
 * the counts' own code included (bitstream/stage-counts.ts), by a Lagrange
 * multiplier (Shoham & Gersho 1988, as rate-controlled transform coders do):
 * for a given lambda, a Viterbi pass over the counts finds the exact minimum
 * of sum_t D_t(n_t) + lambda * bits; lambda is found by bisection. D_t(n) is
 * the latent's squared error after n stages, which the encoder's RVQ search
 * gives for free. Deterministic: float64, ties go to the smaller count.
 */
import { bigChangeBits, changeBits } from "../bitstream/stage-counts.js";

export interface AllocationOptions {
  /** Fewest stages a frame carries (at least 1). */
  min: number;
  /** Most stages a frame carries (at most the stages coded). */
  max: number;
  bitsPerIndex: number;
  /** The count before the first frame (the stream header's base count). */
  start: number;
}

/** Bits a stream's counts cost: indices and count changes. */
export function allocationBits(counts: ArrayLike<number>, o: Pick<AllocationOptions, "max" | "bitsPerIndex" | "start">): number {
  const w = bigChangeBits(o.max);
  let bits = 0;
  let prev = o.start;
  for (let t = 0; t < counts.length; t++) {
    bits += counts[t] * o.bitsPerIndex + changeBits(counts[t] - prev, w);
    prev = counts[t];
  }
  return bits;
}

/**
 * Stages per frame [frames] from the errors after each stage, less a per-frame
 * constant: prefixError [frames, stride], stage n's error at column n - 1. The
 * counts spend at most `budget` bits, as close to it as the code allows; when
 * even the fewest stages overspend, every frame gets `min`.
 */
export function allocateStages(prefixError: ArrayLike<number>, frames: number, stride: number, budget: number, o: AllocationOptions): Uint8Array {
  const { min, max, start } = o;
  if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && min <= max && max <= stride && max <= 255)) throw new RangeError(`stage limits ${min}..${max} with ${stride} stages coded`);
  if (!(Number.isInteger(start) && start >= min && start <= max)) throw new RangeError(`start count ${start} outside ${min}..${max}`);
  if (prefixError.length !== frames * stride) throw new Error(`expected ${frames * stride} prefix errors, got ${prefixError.length}`);
  const N = max - min + 1;
  const w = bigChangeBits(max);
  const from = new Uint8Array(frames * N); // back-pointers: the previous frame's state
  let cost = new Float64Array(N);
  let next = new Float64Array(N);
  const out = new Uint8Array(frames);
  /** The Viterbi pass for lambda: the counts into `out`, their bits returned. */
  const solve = (lambda: number): number => {
    for (let i = 0; i < N; i++) cost[i] = lambda * changeBits(min + i - start, w);
    for (let t = 0; t < frames; t++) {
      // The cheapest predecessor for a change of 2 or more: the overall best (if it is nearer, its change costs less anyway).
      let g = 0;
      if (t > 0) for (let i = 1; i < N; i++) if (cost[i] < cost[g]) g = i;
      for (let i = 0; i < N; i++) {
        let best: number;
        let arg: number;
        if (t === 0) {
          best = cost[i];
          arg = i;
        } else {
          best = cost[i] + lambda * changeBits(0, w);
          arg = i;
          for (const j of [i - 1, i + 1]) {
            if (j < 0 || j >= N) continue;
            const c = cost[j] + lambda * changeBits(1, w);
            if (c < best || (c === best && j < arg)) (best = c), (arg = j);
          }
          const c = cost[g] + lambda * changeBits(2, w);
          if (c < best) (best = c), (arg = g);
        }
        const n = min + i;
        next[i] = best + prefixError[t * stride + n - 1] + lambda * n * o.bitsPerIndex;
        from[t * N + i] = arg;
      }
      [cost, next] = [next, cost];
    }
    let s = 0;
    for (let i = 1; i < N; i++) if (cost[i] < cost[s]) s = i;
    for (let t = frames - 1; t >= 0; t--) {
      out[t] = min + s;
      s = from[t * N + s];
    }
    return allocationBits(out, o);
  };
  if (frames === 0) return out;
  // Bisection on lambda: a dearer bit never spends more.
  let hi = 1;
  for (let i = 0; solve(hi) > budget && i < 200; i++) hi *= 2;
  if (solve(hi) > budget) return out.fill(min);
  let lo = 0;
  if (solve(lo) <= budget) return out.slice();
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (solve(mid) > budget) lo = mid;
    else hi = mid;
  }
  solve(hi);
  return out.slice();
}

/**
 * The fewest stages a frame gets at an average of `targetStages`: half of it.
 * The latent's error undervalues the harmonics, which later stages carry; with
 * no floor, voiced frames the error calls easy drop to one or two stages and
 * the pitch suffers (24 validation clips at 3 kbit/s: F0 error 69 cents with
 * a floor of 1, 56 with 3, 54 with 4, 52 without allocation; STOI 0.812-0.813
 * with any of them, 0.805 without; docs/results.md).
 */
export function minStagesFor(targetStages: number): number {
  return Math.max(1, Math.floor(targetStages / 2));
}

/**
 * A stream's per-frame counts for an average of `targetStages` stages' bits a
 * frame (any real number from 1 to the stages coded), counts' code included,
 * each at least minStagesFor(targetStages), from a pass that searched all `stages`.
 * `entropy.firstIndexBits`: what each frame's first index costs when it is
 * entropy-coded (version 3); a frame carries it whatever its count, so what it
 * saves goes to the other stages; `entropy.reserve`: bits kept back (the range coder's flush).
 */
export function allocateStream(
  enc: { prefixError: ArrayLike<number>; frames: number; stages: number },
  targetStages: number,
  bitsPerIndex: number,
  entropy?: { firstIndexBits: ArrayLike<number>; reserve: number },
): { frameStages: Uint8Array; baseStages: number } {
  const { frames, stages } = enc;
  if (!(targetStages >= 1 && targetStages <= stages)) throw new RangeError(`${targetStages} stages a frame asked of ${stages}`);
  const baseStages = Math.min(stages, Math.max(1, Math.round(targetStages)));
  let budget = allocationBudget(targetStages, bitsPerIndex, frames);
  if (entropy) {
    budget -= entropy.reserve;
    for (let t = 0; t < frames; t++) budget += bitsPerIndex - entropy.firstIndexBits[t];
  }
  const frameStages = allocateStages(enc.prefixError, frames, stages, budget, { min: minStagesFor(targetStages), max: stages, bitsPerIndex, start: baseStages });
  return { frameStages, baseStages };
}

/** The payload bits an allocated stream of `frames` frames may spend at an average of `targetStages` stages' bits a frame. */
export function allocationBudget(targetStages: number, bitsPerIndex: number, frames: number): number {
  return Math.floor(targetStages * bitsPerIndex * frames);
}

/**
 * Brings an allocated stream within `budget` bits when the second pass's codes
 * cost more than the first pass priced (entropy-coded first-stage indices can
 * differ between the passes): drops last stages, one at a time, where that adds
 * the least error (the second pass's own prefix errors), never below `min`.
 * `bits(counts)` is the stream's exact payload bits. Changes `frameStages` and
 * zeroes the dropped codes in place; returns the stages dropped.
 */
export function trimToBudget(
  s: { frameStages: Uint8Array; codes: Uint16Array; prefixError: ArrayLike<number>; frames: number; stages: number },
  budget: number,
  min: number,
  bits: (counts: Uint8Array) => number,
): number {
  const { frameStages: counts, frames, stages: S } = s;
  let dropped = 0;
  let total = bits(counts);
  while (total > budget) {
    let best = -1;
    let bestCost = Infinity;
    for (let t = 0; t < frames; t++) {
      const n = counts[t];
      if (n <= min) continue;
      const cost = s.prefixError[t * S + n - 2] - s.prefixError[t * S + n - 1];
      if (cost < bestCost) (bestCost = cost), (best = t);
    }
    if (best < 0) break;
    counts[best]--;
    s.codes[best * S + counts[best]] = 0;
    dropped++;
    total = bits(counts);
  }
  return dropped;
}
