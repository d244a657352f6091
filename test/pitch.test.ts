import { describe, expect, it } from "vitest";
import { compareTracks, pitchMetrics, trackF0, WINDOW_SECONDS, YinDifference } from "../src/eval/pitch.js";

const SR = 24000;

/** 8 harmonics with 1/k amplitudes following the instantaneous F0 `hz(t)` (phase-continuous, so glides are clean). */
function harmonicTone(hz: (t: number) => number, seconds: number, amplitude = 0.3): Float32Array {
  const x = new Float32Array(Math.round(seconds * SR));
  let phase = 0;
  for (let i = 0; i < x.length; i++) {
    phase += (2 * Math.PI * hz(i / SR)) / SR;
    let s = 0;
    for (let k = 1; k <= 8; k++) s += Math.sin(k * phase) / k;
    x[i] = amplitude * s;
  }
  return x;
}

/** Deterministic uniform noise in [-a, a) (a 32-bit LCG: tests must not depend on Math.random). */
function noise(n: number, a = 0.3, seed = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return a * (2 * (s / 2 ** 32) - 1);
  });
}

const cents = (f: number, ref: number) => 1200 * Math.log2(f / ref);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

describe("YIN F0 tracker", () => {
  it("computes YIN's difference function by FFT as the direct sum does", () => {
    const win = 600, maxLag = 480;
    const x = noise(win + maxLag + 100, 0.5, 7);
    const d = new YinDifference(win, maxLag).compute(x, 100);
    for (const tau of [0, 1, 30, 217, 480]) {
      let direct = 0;
      for (let j = 0; j < win; j++) direct += (x[100 + j] - x[100 + j + tau]) ** 2;
      expect(d[tau]).toBeCloseTo(direct, 9);
    }
  });

  it("finds steady F0s across its 50-800 Hz range within a cent", () => {
    for (const hz of [60, 110, 220, 700]) {
      const { f0, hopSeconds } = trackF0(harmonicTone(() => hz, 1), SR);
      expect(hopSeconds).toBeCloseTo(0.01, 9);
      expect(f0.length).toBeGreaterThan(90);
      expect(f0.every((v) => v > 0), `${hz} Hz: every frame voiced`).toBe(true);
      const err = Array.from(f0, (v) => Math.abs(cents(v, hz)));
      expect(median(err), `${hz} Hz`).toBeLessThan(1);
      expect(Math.max(...err), `${hz} Hz`).toBeLessThan(5);
    }
  });

  it("follows a glide (100 to 400 Hz in 2 s) within 5 cents median", () => {
    const hz = (t: number) => 100 * 4 ** (t / 2);
    const { f0, hopSeconds } = trackF0(harmonicTone(hz, 2), SR);
    expect(f0.every((v) => v > 0)).toBe(true);
    // A frame's estimate is the pitch over its window and one period after it: centred (window + period) / 2 in.
    const err = Array.from(f0, (v, i) => Math.abs(cents(v, hz(i * hopSeconds + (WINDOW_SECONDS + 1 / v) / 2))));
    expect(median(err)).toBeLessThan(5);
    expect(Math.max(...err)).toBeLessThan(20);
  });

  it("leaves white noise and silence unvoiced", () => {
    const n = noise(SR);
    const tracked = trackF0(n, SR);
    expect(tracked.f0.length).toBeGreaterThan(90);
    expect(tracked.f0.filter((v) => v > 0).length).toBe(0);
    expect(Math.min(...tracked.aperiodicity)).toBeGreaterThan(0.3);
    const silence = trackF0(new Float32Array(SR), SR);
    expect(silence.f0.length).toBeGreaterThan(90);
    expect(silence.f0.every((v) => v === 0)).toBe(true);
  });

  it("gates frames 40 dB below the loudest as silent, whatever the recording level", () => {
    const loud = harmonicTone(() => 150, 0.5);
    const faint = harmonicTone(() => 150, 0.5, 0.3e-3); // -60 dB
    const both = new Float32Array(loud.length + faint.length);
    both.set(loud);
    both.set(faint, loud.length);
    const { f0 } = trackF0(both, SR);
    const half = Math.floor(f0.length / 2);
    expect(f0.subarray(0, half - 5).every((v) => v > 0)).toBe(true);
    expect(f0.subarray(half + 5).every((v) => v === 0)).toBe(true);
    // Alone, the faint tone is the loudest frame: tracked.
    expect(trackF0(faint, SR).f0.every((v) => Math.abs(cents(v, 150)) < 5)).toBe(true);
  });

  it("returns no frames for a clip shorter than one frame", () => {
    expect(trackF0(new Float32Array(100), SR).f0.length).toBe(0);
  });
});

describe("pitch metrics", () => {
  const tone = harmonicTone(() => 130, 1);

  it("are zero for a signal against itself", () => {
    expect(pitchMetrics(tone, tone)).toEqual({ f0Cents: 0, vde: 0, gpe: 0 });
  });

  it("measure an octave as ~1200 cents and a gross error, a small detune as no gross error", () => {
    const octave = pitchMetrics(tone, harmonicTone(() => 260, 1));
    expect(octave.f0Cents).toBeGreaterThan(1195);
    expect(octave.f0Cents).toBeLessThan(1205);
    expect(octave.vde).toBe(0);
    expect(octave.gpe).toBe(1);
    const detuned = pitchMetrics(tone, harmonicTone(() => 130 * 2 ** (50 / 1200), 1));
    expect(detuned.f0Cents).toBeGreaterThan(48);
    expect(detuned.f0Cents).toBeLessThan(52);
    expect(detuned.gpe).toBe(0);
  });

  it("give NaN cents when no frame is voiced in both, and count every frame as a voicing error", () => {
    const m = pitchMetrics(tone, noise(tone.length));
    expect(m.f0Cents).toBeNaN();
    expect(m.gpe).toBeNaN();
    expect(m.vde).toBe(1);
  });

  it("compare tracks frame by frame", () => {
    const ref = Float32Array.from([0, 100, 100, 200, 0]);
    const deg = Float32Array.from([0, 0, 200, 210, 150]);
    const m = compareTracks(ref, deg);
    expect(m.vde).toBeCloseTo(2 / 5, 12);
    expect(m.f0Cents).toBeCloseTo((1200 + cents(210, 200)) / 2, 9);
    expect(m.gpe).toBeCloseTo(1 / 2, 12);
  });

  it("refuse signals of different lengths", () => {
    expect(() => pitchMetrics(tone, tone.subarray(1))).toThrow(/align them first/);
  });
});
