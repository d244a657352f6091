import { describe, expect, it } from "vitest";
import { align, ENV_HOP, envelopeDelay, estimateDelay } from "../src/eval/align.js";
import { Rng } from "../src/nn/rng.js";

const SR = 24000;

/** Noise bursts with a syllable-like envelope: what a codec that does not keep the phase returns differs in every sample. */
function bursts(n: number, rng: Rng, offset = 0): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const t = (i - offset) / SR;
    const env = t < 0 ? 0 : Math.max(0, Math.sin(2 * Math.PI * 2.3 * t)) ** 2 * (t % 0.9 < 0.6 ? 1 : 0.05);
    return env * rng.normal() * 0.1;
  });
}

describe("delay alignment", () => {
  it("finds the delay of a signal whose waveform differs but whose envelope matches (phase not kept)", () => {
    const ref = bursts(2 * SR, new Rng(1));
    const deg = bursts(2 * SR, new Rng(2), 700); // another noise, 700 samples late
    expect(Math.abs(envelopeDelay(ref, deg, 2400) - 700)).toBeLessThanOrEqual(ENV_HOP);
    expect(Math.abs(align(ref, deg, 2400).delay - 700)).toBeLessThanOrEqual(ENV_HOP);
    // Waveform cross-correlation alone has nothing to lock onto here.
    expect(Math.abs(estimateDelay(ref, deg, 2400) - 700)).toBeGreaterThan(ENV_HOP);
  });

  it("keeps the exact sample lag of a waveform-preserving copy, either way", () => {
    const ref = bursts(SR, new Rng(3));
    for (const d of [0, 37, -211]) {
      const deg = new Float32Array(ref.length);
      for (let i = 0; i < ref.length; i++) deg[i] = 0.8 * (ref[i - d] ?? 0);
      const a = align(ref, deg, 2400);
      expect(a.delay).toBe(d);
      expect(a.ref.length).toBe(a.deg.length);
    }
  });

  it("a steady tone, whose envelope fits any lag, keeps the waveform's lag", () => {
    const tone = Float32Array.from({ length: SR }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 140 * i) / SR));
    const late = new Float32Array(tone.length);
    late.set(tone.subarray(0, tone.length - 12), 12);
    expect(align(tone, late, 2400).delay).toBe(12);
  });
});
