import { describe, expect, it } from "vitest";
import { MelFrontEnd } from "../src/audio/mel.js";
import { bandWarp, drawWarpFactor, warpLogMel } from "../src/audio/mel-warp.js";

/** A voiced sound: harmonics of f0 under a two-formant envelope of the harmonic's own frequency (before scaling). */
function voiced(f0: number, alpha: number, seconds = 0.5): Float32Array {
  const x = new Float32Array(Math.round(24000 * seconds));
  const envelope = (f: number) => Math.exp(-(((f - 600) / 250) ** 2)) + 0.5 * Math.exp(-(((f - 1800) / 400) ** 2)) + 0.02;
  for (let k = 1; k * f0 * alpha < 11000 && k * f0 < 11000; k++) {
    const a = envelope(k * f0) * 0.1;
    const w = (2 * Math.PI * k * f0 * alpha) / 24000;
    for (let i = 0; i < x.length; i++) x[i] += a * Math.sin(w * i);
  }
  return x;
}

const meanAbs = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe("mel frequency warp (speaker perturbation)", () => {
  const fe = new MelFrontEnd();

  it("is the identity at alpha 1", () => {
    const mel = fe.compute(voiced(140, 1)).data;
    expect(meanAbs(warpLogMel(mel, 128, bandWarp(1)), mel)).toBeLessThan(1e-5);
  });

  for (const alpha of [0.9, 1.12]) {
    it(`turns the mel of a voice into that of its spectrum scaled by ${alpha}`, () => {
      const original = fe.compute(voiced(140, 1)).data;
      const scaled = fe.compute(voiced(140, alpha)).data;
      const warped = warpLogMel(original, 128, bandWarp(alpha));
      const before = meanAbs(original, scaled);
      const after = meanAbs(warped, scaled);
      // Measured: 0.9 -> 0.31 against 1.45 unwarped; 1.12 -> 0.47 against 1.42.
      expect(after).toBeLessThan(0.4 * before);
    });
  }

  it("draws factors log-uniformly within the bounds", () => {
    expect(drawWarpFactor(0.1, 0)).toBeCloseTo(1 / 1.1, 12);
    expect(drawWarpFactor(0.1, 1)).toBeCloseTo(1.1, 12);
    expect(drawWarpFactor(0.1, 0.5)).toBe(1);
  });
});
