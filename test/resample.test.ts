import { describe, expect, it } from "vitest";
import { resample } from "../src/audio/resample.js";
import { sine } from "./helpers.js";

function energy(x: Float32Array, from: number, to: number): number {
  let e = 0;
  for (let i = from; i < to; i++) e += x[i] * x[i];
  return e / (to - from);
}

describe("resampler (libsamplerate, best sinc)", () => {
  it("takes a 1 kHz sine from 44.1 kHz to 24 kHz with >= 80 dB signal-to-error", async () => {
    const y = await resample(sine(1000, 44100, 1), 44100, 24000);
    expect(y.length).toBe(24000);
    const ref = sine(1000, 24000, 1);
    let err = 0;
    let sig = 0;
    for (let i = 1000; i < 23000; i++) {
      err += (y[i] - ref[i]) ** 2;
      sig += ref[i] ** 2;
    }
    expect(10 * Math.log10(sig / err)).toBeGreaterThanOrEqual(80);
  });

  it("rejects content above the new Nyquist (15 kHz at 44.1 -> 24 kHz) by >= 60 dB", async () => {
    const x = sine(15000, 44100, 1);
    const y = await resample(x, 44100, 24000);
    const rejection = 10 * Math.log10(energy(x, 0, x.length) / energy(y, 1000, 23000));
    expect(rejection).toBeGreaterThanOrEqual(60);
  });

  it("upsamples 8 kHz to 24 kHz with the exact length", async () => {
    expect((await resample(sine(440, 8000, 0.5), 8000, 24000)).length).toBe(12000);
  });
});
