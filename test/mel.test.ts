import { describe, expect, it } from "vitest";
import { MelFrontEnd, toBandMajor } from "../src/audio/mel.js";
import { Stft } from "../src/audio/stft.js";
import { fftJs, loadFastFft } from "../src/audio/fft.js";
import { maxAbsDiff, maxScaledDiff, torchFixture } from "./helpers.js";

describe("mel front end (parity with torchaudio)", () => {
  const fe = new MelFrontEnd();

  it("Slaney filterbank matches torchaudio.functional.melscale_fbanks to 1e-6", () => {
    const ref = torchFixture("mel_filterbank").get("mel_fb")!;
    expect(ref.shape).toEqual([1025, 128]);
    expect(maxAbsDiff(fe.filterbank, ref.data)).toBeLessThan(1e-6);
  });

  it("log-mel matches the reference to 1e-4 absolute", () => {
    const fx = torchFixture("mel");
    const audio = fx.get("audio")!.data as Float32Array;
    const ref = fx.get("log_mel")!;
    const mel = fe.compute(audio);
    expect([mel.bands, mel.frames]).toEqual(ref.shape);
    expect(maxAbsDiff(toBandMajor(mel), ref.data)).toBeLessThan(1e-4);
  });

  it("frame count is floor(len / 512) + 1, even for signals shorter than the window", () => {
    for (const n of [1, 100, 511, 512, 1025, 5000]) {
      const mel = fe.compute(new Float32Array(n).fill(0.1));
      expect(mel.frames).toBe(Math.floor(n / 512) + 1);
      expect(mel.data.every(Number.isFinite)).toBe(true);
    }
  });
});

describe("fast front end (PFFFT, wasm SIMD)", () => {
  it("loads here, and its spectrum matches fft.js to float32 precision", async () => {
    const fast = await loadFastFft(2048);
    expect(fast.name).toBe("pffft-wasm-simd");
    const x = new Float64Array(2048).map((_, i) => Math.sin(0.37 * i) + Math.cos(0.011 * i * i));
    const a = new Float64Array(2050);
    const b = new Float64Array(2050);
    fast.forward(x, a);
    fftJs(2048).forward(x, b);
    expect(maxScaledDiff(a, b)).toBeLessThan(1e-6);
  });

  it("log-mel matches the torchaudio reference to 1e-4 absolute", async () => {
    const fx = torchFixture("mel");
    const mel = (await MelFrontEnd.fast()).compute(fx.get("audio")!.data as Float32Array);
    expect(maxAbsDiff(toBandMajor(mel), fx.get("log_mel")!.data)).toBeLessThan(1e-4);
  });
});

describe("STFT", () => {
  it("analyse -> synthesise is exact to 1e-5", () => {
    const stft = new Stft(2048, 512);
    const x = new Float32Array(10000);
    let s = 1;
    for (let i = 0; i < x.length; i++) {
      s = (s * 16807) % 2147483647;
      x[i] = s / 2147483647 - 0.5;
    }
    const y = stft.synthesise(stft.analyse(x), x.length);
    expect(maxAbsDiff(y, x)).toBeLessThan(1e-5);
  });
});
