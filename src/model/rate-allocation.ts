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
  /**
   * Entropy-coded streams: bits of frame t's first n indices at [t * stride + n - 1]
   * (cumulative; code-model.ts cumulativeIndexBits). Default n * bitsPerIndex.
   */
  indexBits?: ArrayLike<number>;
  /** The stride of indexBits (the stages coded). */
  stride?: number;
}

/** Bits a stream's counts cost: indices and count changes. */
export function allocationBits(counts: ArrayLike<number>, o: Pick<AllocationOptions, "max" | "bitsPerIndex" | "start" | "indexBits" | "stride">): number {
  const w = bigChangeBits(o.max);
  let bits = 0;
  let prev = o.start;
  for (let t = 0; t < counts.length; t++) {
    bits += (o.indexBits ? o.indexBits[t * o.stride! + counts[t] - 1] : counts[t] * o.bitsPerIndex) + changeBits(counts[t] - prev, w);
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
  return allocate(prefixError, frames, stride, budget, o).counts;
}

/**
 * allocateStages' counts and the Lagrange multiplier that gives them: the
 * error a bit is worth at this rate (0 when every frame gets `max` within
 * budget; Infinity when even `min` overspends).
 */
export function allocate(prefixError: ArrayLike<number>, frames: number, stride: number, budget: number, o: AllocationOptions): { counts: Uint8Array; lambda: number } {
  const { min, max, start } = o;
  if (!(Number.isInteger(min) && Number.isInteger(max) && min >= 1 && min <= max && max <= stride && max <= 255)) throw new RangeError(`stage limits ${min}..${max} with ${stride} stages coded`);
  if (!(Number.isInteger(start) && start >= min && start <= max)) throw new RangeError(`start count ${start} outside ${min}..${max}`);
  if (prefixError.length !== frames * stride) throw new Error(`expected ${frames * stride} prefix errors, got ${prefixError.length}`);
  if (o.indexBits && o.indexBits.length !== frames * stride) throw new Error(`expected ${frames * stride} index bits, got ${o.indexBits.length}`);
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
        next[i] = best + prefixError[t * stride + n - 1] + lambda * (o.indexBits ? o.indexBits[t * stride + n - 1] : n * o.bitsPerIndex);
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
    return allocationBits(out, { ...o, stride });
  };
  if (frames === 0) return { counts: out, lambda: 0 };
  // Bisection on lambda: a dearer bit never spends more.
  let hi = 1;
  for (let i = 0; solve(hi) > budget && i < 200; i++) hi *= 2;
  if (solve(hi) > budget) return { counts: out.fill(min), lambda: Infinity };
  let lo = 0;
  if (solve(lo) <= budget) return { counts: out.slice(), lambda: 0 };
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (solve(mid) > budget) lo = mid;
    else hi = mid;
  }
  solve(hi);
  return { counts: out.slice(), lambda: hi };
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
 * `entropy.indexBits`: what each frame's first n indices cost when they are
 * entropy-coded (version 3; cumulative, [frames, stages]): the counts then buy
 * the stages whose indices are cheap; `entropy.reserve`: bits kept back (the range coder's flush).
 */
export function allocateStream(
  enc: { prefixError: ArrayLike<number>; frames: number; stages: number },
  targetStages: number,
  bitsPerIndex: number,
  entropy?: { indexBits: ArrayLike<number>; reserve: number },
): { frameStages: Uint8Array; baseStages: number; lambda: number } {
  const { frames, stages } = enc;
  if (!(targetStages >= 1 && targetStages <= stages)) throw new RangeError(`${targetStages} stages a frame asked of ${stages}`);
  const baseStages = Math.min(stages, Math.max(1, Math.round(targetStages)));
  const budget = allocationBudget(targetStages, bitsPerIndex, frames) - (entropy?.reserve ?? 0);
  const { counts: frameStages, lambda } = allocate(enc.prefixError, frames, stages, budget, { min: minStagesFor(targetStages), max: stages, bitsPerIndex, start: baseStages, indexBits: entropy?.indexBits });
  return { frameStages, baseStages, lambda };
}

/** The payload bits an allocated stream of `frames` frames may spend at an average of `targetStages` stages' bits a frame. */
export function allocationBudget(targetStages: number, bitsPerIndex: number, frames: number): number {
  return Math.floor(targetStages * bitsPerIndex * frames);
}

/**
 * Brings an allocated stream within `budget` bits when the second pass's codes
 * cost more than the first pass priced (entropy-coded indices are priced from
 * the first pass's codes, whose contexts can differ): drops last stages where
 * that adds the least error (the second pass's own prefix errors), never below
 * `min`, a batch at a time (at most one stage a frame, about as many as the
 * excess bits need at `bitsPerIndex` each), until the stream fits.
 * `bits(counts)` is the stream's exact payload bits. Changes `frameStages` and
 * zeroes the dropped codes in place; returns the stages dropped.
 */
export function trimToBudget(
  s: { frameStages: Uint8Array; codes: Uint16Array; prefixError: ArrayLike<number>; frames: number; stages: number },
  budget: number,
  min: number,
  bitsPerIndex: number,
  bits: (counts: Uint8Array) => number,
): number {
  const { frameStages: counts, frames, stages: S } = s;
  let dropped = 0;
  for (let total = bits(counts); total > budget; total = bits(counts)) {
    const want = Math.max(1, Math.ceil((total - budget) / bitsPerIndex));
    const order: number[] = [];
    for (let t = 0; t < frames; t++) if (counts[t] > min) order.push(t);
    if (order.length === 0) break;
    const cost = (t: number) => s.prefixError[t * S + counts[t] - 2] - s.prefixError[t * S + counts[t] - 1];
    order.sort((a, b) => cost(a) - cost(b) || a - b);
    for (const t of order.slice(0, want)) {
      counts[t]--;
      s.codes[t * S + counts[t]] = 0;
      dropped++;
    }
  }
  return dropped;
}
