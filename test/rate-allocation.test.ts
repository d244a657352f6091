import { describe, expect, it } from "vitest";
import { allocateStages, allocationBits, trimToBudget } from "../src/model/rate-allocation.js";
import { Rng } from "../src/nn/rng.js";

/** Errors after 1..S stages with shrinking steps (as RVQ's are on average): [T, S]. */
function convexErrors(T: number, S: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const out = new Float64Array(T * S);
  for (let t = 0; t < T; t++) {
    const scale = Math.exp(2 * rng.normal());
    const ratio = 0.4 + 0.5 * rng.uniform();
    let e = 10 * scale;
    for (let n = 1; n <= S; n++) out[t * S + n - 1] = e -= scale * ratio ** n;
  }
  return out;
}

const distortion = (D: Float64Array, S: number, counts: Uint8Array) => Array.from(counts).reduce((a, n, t) => a + D[t * S + n - 1], 0);
const opts = (S: number, start: number) => ({ min: 1, max: S, bitsPerIndex: 8, start });

describe("rate allocation (allocateStages)", () => {
  it("counts the bits of the indices and of the count changes (1, 3, 3 + w bits)", () => {
    // From 4: 4 (+1 bit), 5 (+3), 5 (+1), 2 (+3+w, w = 3 for 8 stages), 1 (+3).
    expect(allocationBits([4, 5, 5, 2, 1], { max: 8, bitsPerIndex: 8, start: 4 })).toBe(17 * 8 + 1 + 3 + 1 + 6 + 3);
  });

  it("stays within the budget, close to it, within the limits", () => {
    const [T, S] = [60, 8];
    const D = convexErrors(T, S, 1);
    for (const n of [2, 4, 6]) {
      const budget = n * 8 * T;
      const c = allocateStages(D, T, S, budget, opts(S, n));
      const bits = allocationBits(c, opts(S, n));
      expect(bits).toBeLessThanOrEqual(budget);
      expect(bits).toBeGreaterThan(0.97 * budget);
      expect(Math.min(...c)).toBeGreaterThanOrEqual(1);
      expect(Math.max(...c)).toBeLessThanOrEqual(S);
    }
    expect(Array.from(allocateStages(D, T, S, 10, { ...opts(S, 2), min: 2, max: 6 }))).toEqual(new Array(T).fill(2));
    expect(Array.from(allocateStages(D, T, S, 1e9, { ...opts(S, 2), min: 2, max: 6 }))).toEqual(new Array(T).fill(6));
    expect(() => allocateStages(D, T, S, 100, { ...opts(S, 1), min: 0 })).toThrow(/limits/);
    expect(() => allocateStages(D, T, S, 100, opts(S + 1, 1))).toThrow(/limits/);
  });

  it("finds the least total error among the counts within the budget (exhaustive search on small cases)", () => {
    const [T, S] = [4, 5];
    let exact = 0;
    let cases = 0;
    for (let seed = 0; seed < 20; seed++) {
      const D = convexErrors(T, S, 10 + seed);
      for (const budget of [60, 100, 130, 150]) {
        const got = allocateStages(D, T, S, budget, opts(S, 3));
        const spent = allocationBits(got, opts(S, 3));
        expect(spent).toBeLessThanOrEqual(budget);
        const d = distortion(D, S, got);
        // A Lagrangian solution is the best of all counts that spend no more than it does;
        // between the rates it reaches it may leave some of the budget unspent.
        let bestAtSpent = Infinity;
        let bestAtBudget = Infinity;
        for (let code = 0; code < S ** T; code++) {
          const c = Uint8Array.from({ length: T }, (_, t) => 1 + (Math.floor(code / S ** t) % S));
          const bits = allocationBits(c, opts(S, 3));
          if (bits <= spent) bestAtSpent = Math.min(bestAtSpent, distortion(D, S, c));
          if (bits <= budget) bestAtBudget = Math.min(bestAtBudget, distortion(D, S, c));
        }
        expect(d).toBeCloseTo(bestAtSpent, 9);
        if (Math.abs(d - bestAtBudget) < 1e-9) exact++;
        cases++;
      }
    }
    expect(exact / cases).toBeGreaterThan(0.5);
  });

  it("gives a frame whose error stays high more stages than one already coded well, deterministically", () => {
    const S = 8;
    // Frame 0: nothing left after one stage (silence); frame 1: every stage removes a lot (an onset).
    const D = Float64Array.from([...new Array(S).fill(0), ...Array.from({ length: S }, (_, n) => 100 - 12 * (n + 1))]);
    const c = allocateStages(D, 2, S, 8 * 8 + 20, opts(S, 4));
    expect(c[0]).toBe(1);
    expect(c[1]).toBeGreaterThan(4);
    const E = convexErrors(40, S, 3);
    expect(Array.from(allocateStages(E, 40, S, 1300, opts(S, 4)))).toEqual(Array.from(allocateStages(E, 40, S, 1300, opts(S, 4))));
  });
});

describe("trimToBudget", () => {
  it("drops the last stages that add the least error until the stream fits, never below the floor", () => {
    const S = 4;
    const frames = 6;
    // prefixError[t][n-1]: errors after n stages; frame 2's last stage is worth little, frame 4's much.
    const prefixError = Float64Array.from([
      [10, 6, 4, 3], [10, 6, 4, 3], [10, 6, 4, 3.9], [10, 6, 4, 3], [10, 6, 4, 0.5], [10, 6, 4, 3],
    ].flat());
    const frameStages = Uint8Array.from([4, 4, 4, 4, 4, 2]);
    const codes = new Uint16Array(frames * S).fill(7);
    for (let k = 2; k < S; k++) codes[5 * S + k] = 0;
    const bits = (c: Uint8Array) => c.reduce((a, n) => a + 8 * n, 0);
    const s = { frameStages, codes, prefixError, frames, stages: S };
    expect(trimToBudget(s, bits(frameStages) - 8, 2, 8, bits)).toBe(1);
    expect(Array.from(frameStages)).toEqual([4, 4, 3, 4, 4, 2]);
    expect(codes[2 * S + 3]).toBe(0);
    // Far over: every frame ends at the floor, and no further.
    expect(trimToBudget(s, 0, 2, 8, bits)).toBe(9);
    expect(Array.from(frameStages)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(Array.from(codes.subarray(0, S))).toEqual([7, 7, 0, 0]);
  });
});
