import { describe, expect, it } from "vitest";
import { FrequencyTable, quantizeFrequencies, RangeDecoder, RangeEncoder } from "../src/bitstream/range-coder.js";
import { Rng } from "../src/nn/rng.js";

/** A skewed table over `n` symbols: geometric-ish weights, as a code's counts are. */
function skewed(rng: Rng, n: number, totalBits: number): FrequencyTable {
  const p = Array.from({ length: n }, (_, i) => Math.exp(-i / (1 + rng.int(20))) + (rng.int(4) === 0 ? 0 : 1e-4));
  return new FrequencyTable(quantizeFrequencies(p, totalBits), totalBits);
}

describe("range coder", () => {
  it("round-trips symbols from several tables and uniform bits, within a few bytes of their ideal length", () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 20; trial++) {
      const tables = [skewed(rng, 256, 16), skewed(rng, 5, 8), skewed(rng, 2, 1)];
      const ops: { t: number; s: number; bits?: number }[] = [];
      let ideal = 0;
      const count = rng.int(3000);
      for (let i = 0; i < count; i++) {
        const t = rng.int(4);
        if (t === 3) {
          const bits = 1 + rng.int(16);
          ops.push({ t, s: rng.int(2 ** bits), bits });
          ideal += bits;
        } else {
          // Draw from the table's own distribution so that the ideal length is typical.
          const tab = tables[t];
          const u = rng.int(tab.total);
          let s = 0;
          while (tab.cum[s + 1] <= u) s++;
          ops.push({ t, s });
          ideal += tab.bits(s);
        }
      }
      const enc = new RangeEncoder();
      for (const o of ops) (o.t === 3 ? (o.bits! > 8 ? enc.writeUniform(o.s, o.bits!) : enc.write(o.s, o.bits!)) : tables[o.t].encode(enc, o.s));
      const bytes = enc.finish();
      expect(bytes.length * 8).toBeGreaterThanOrEqual(Math.floor(ideal));
      expect(bytes.length).toBeLessThanOrEqual(Math.ceil(ideal / 8) + 5);
      const dec = new RangeDecoder(bytes);
      for (const o of ops) expect(o.t === 3 ? (o.bits! > 8 ? dec.readUniform(o.bits!) : dec.read(o.bits!)) : tables[o.t].decode(dec)).toBe(o.s);
      expect(dec.consumed).toBe(bytes.length);
      expect(dec.overrun).toBe(0);
    }
  });

  it("propagates carries through runs of 0xff (a near-certain symbol coded many times)", () => {
    const tab = new FrequencyTable(quantizeFrequencies([1, 1e6], 16), 16);
    const rng = new Rng(3);
    const syms = Array.from({ length: 20000 }, () => (rng.int(500) === 0 ? 0 : 1));
    const enc = new RangeEncoder();
    for (const s of syms) tab.encode(enc, s);
    // A uniform 16-bit value at the end pushes the coder through the low end of its range.
    enc.writeUniform(0xffff, 16);
    const bytes = enc.finish();
    const dec = new RangeDecoder(bytes);
    for (const s of syms) expect(tab.decode(dec)).toBe(s);
    expect(dec.readUniform(16)).toBe(0xffff);
    expect(dec.consumed).toBe(bytes.length);
  });

  it("reports reading past the end of truncated data", () => {
    const enc = new RangeEncoder();
    for (let i = 0; i < 100; i++) enc.writeUniform(i, 8);
    const bytes = enc.finish();
    const dec = new RangeDecoder(bytes.subarray(0, 50));
    for (let i = 0; i < 100; i++) dec.readUniform(8);
    expect(dec.overrun).toBeGreaterThan(0);
  });

  it("quantizes probabilities to frequencies that sum to the total, every symbol at least 1", () => {
    const f = quantizeFrequencies([0, 0.5, 0.25, 0.25, 1e-9], 4);
    // 11 units beyond the 1s: shares 5.5, 2.75, 2.75 -> 5, 2, 2; the 2 left go to the largest fractions (0.75, 0.75).
    expect(Array.from(f)).toEqual([1, 6, 4, 4, 1]);
    expect(f.reduce((a, b) => a + b, 0)).toBe(16);
    expect(() => new FrequencyTable([1, 2, 3], 3)).toThrow(/sum to 6/);
    expect(() => new FrequencyTable([0, 8], 3)).toThrow(/at least 1/);
  });
});
