import { beforeAll, describe, expect, it } from "vitest";
import { grad, initJax, np, tree, type JArray } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";
import { namedLeaves } from "../src/nn/params.js";
import { ANTIALIAS_FILTER } from "../src/nn/antialias.js";
import { VOCODER_CONFIGS, discLoss, generate, generatorLoss, initDiscriminators, initGenerator } from "../src/model/vocoder.js";
import { istft } from "../src/model/spectral.js";
import { Stft } from "../src/audio/stft.js";
import { fftJs, loadFastFft } from "../src/audio/fft.js";
import { InverseStft } from "../src/audio/istft.js";
import { maxAbsDiff } from "./helpers.js";

beforeAll(initJax);

const rng = new Rng(5);
const mel = (B: number, F: number) => np.array(rng.normalArray(B * F * 128, 1).map((v) => v - 5)).reshape([B, F, 128]);

describe("vocoder generators", () => {
  for (const name of ["vocos-tiny", "bigvgan-tiny"]) {
    it(`${name}: F frames -> F x 512 samples`, () => {
      const c = VOCODER_CONFIGS[name];
      const g = initGenerator(new Rng(1), c);
      const y = generate(g, c, mel(2, 6));
      expect(y.shape).toEqual([2, 6 * 512]);
      expect((y.dataSync() as Float32Array).every(Number.isFinite)).toBe(true);
    });
  }

  it("the iSTFT inverts the STFT exactly (to 1e-5)", () => {
    const stft = new Stft(2048, 512);
    const x = new Float32Array(512 * 40);
    for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.01) * 0.5 + 0.3 * Math.sin(i * 0.37 + 1);
    const frames = stft.analyse(x); // T = 41 frames of interleaved [re, im]
    const T = frames.length;
    const bins = 1025;
    const re = new Float32Array(T * bins);
    const im = new Float32Array(T * bins);
    frames.forEach((f, t) => {
      for (let k = 0; k < bins; k++) {
        re[t * bins + k] = f[2 * k];
        im[t * bins + k] = f[2 * k + 1];
      }
    });
    const y = istft(np.array(re).reshape([1, T, bins]), np.array(im).reshape([1, T, bins]), 2048, 512).dataSync() as Float32Array;
    expect(y.length).toBe(T * 512);
    // Sample n of the output is sample n of the input (frame 0 is centred on sample 0).
    expect(maxAbsDiff(y.subarray(0, x.length), x)).toBeLessThan(1e-5);
  });
});

describe("host inverse STFT (the ONNX engine's vocoder head)", () => {
  const T = 37;
  const bins = 1025;
  // A spectrum no STFT produces (random phases, non-zero imaginary DC and Nyquist): the host and traced paths must still agree.
  const re = Float32Array.from(rng.normalArray(T * bins, 1));
  const im = Float32Array.from(rng.normalArray(T * bins, 1));
  const traced = () => istft(np.array(re).reshape([1, T, bins]), np.array(im).reshape([1, T, bins]), 2048, 512).dataSync() as Float32Array;

  for (const [name, make] of [
    ["fft.js", async () => fftJs(2048)],
    ["PFFFT", () => loadFastFft(2048)],
  ] as const)
    it(`equals the traced matmul iSTFT (${name}), to 1e-5 of its peak`, async () => {
      const want = traced();
      const got = new InverseStft(await make(), 512).synthesise(re, im, T);
      expect(got.length).toBe(want.length);
      const peak = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(maxAbsDiff(got, want) / peak).toBeLessThan(1e-5);
    });

  it("each FFT's inverse undoes its forward transform", async () => {
    for (const fft of [fftJs(2048), await loadFastFft(2048)]) {
      const x = Float64Array.from(rng.normalArray(2048, 1));
      const spec = new Float64Array(2 * bins);
      fft.forward(x, spec);
      const r = Float32Array.from({ length: bins }, (_, k) => spec[2 * k]);
      const i = Float32Array.from({ length: bins }, (_, k) => spec[2 * k + 1]);
      const y = new Float32Array(2048);
      fft.inverse(r, i, 0, y);
      expect(maxAbsDiff(y, Float32Array.from(x)), fft.name).toBeLessThan(1e-5);
    }
  });
});

describe("anti-aliasing filter (Kaiser-windowed sinc, 12 taps, cutoff at the original Nyquist)", () => {
  const gainDb = (f: number) => {
    let re = 0;
    let im = 0;
    ANTIALIAS_FILTER.forEach((v, n) => {
      re += v * Math.cos(2 * Math.PI * f * n);
      im -= v * Math.sin(2 * Math.PI * f * n);
    });
    return 20 * Math.log10(Math.hypot(re, im));
  };
  it("passes the band below 0.15 fs within 0.5 dB, is -6 dB at the cutoff, and rejects >= 55 dB above 0.4 fs", () => {
    for (const f of [0, 0.05, 0.1, 0.15]) expect(Math.abs(gainDb(f))).toBeLessThan(0.5);
    expect(Math.abs(gainDb(0.25) + 6)).toBeLessThan(0.5);
    for (const f of [0.4, 0.45, 0.49]) expect(gainDb(f)).toBeLessThan(-55);
  });
});

describe("gradients reach every parameter", () => {
  const nonzero = (g: unknown) => namedLeaves(g).filter(([, a]) => !(a.ref.dataSync() as Float32Array).some((v) => v !== 0)).map(([n]) => n);
  for (const name of ["vocos-tiny", "bigvgan-tiny"]) {
    it(`${name}: generator (mel + GAN losses) and discriminators`, () => {
      const c = VOCODER_CONFIGS[name];
      const g = initGenerator(new Rng(2), c);
      const d = initDiscriminators(new Rng(3), c.disc);
      const F = 8;
      const audio = np.array(rng.normalArray(F * 512, 0.1)).reshape([1, F * 512]);
      const m = mel(1, F);
      const gg = grad((gp: any, dp: any, mm: JArray, a: JArray) => generatorLoss(gp, dp, c, mm, a, true)[0])(tree.ref(g), tree.ref(d), m.ref, audio.ref);
      expect(nonzero(gg)).toEqual([]);
      const fake = generate(g, c, m);
      const dg = grad((dp: any, real: JArray, f: JArray) => discLoss(dp, c, real, f))(tree.ref(d), audio, fake);
      expect(nonzero(dg)).toEqual([]);
    });
  }
});

describe("tiny vocoder training", () => {
  it("reduces the validation mel loss on one clip to below 80% of its start in 40 steps", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { makeToyCorpus } = await import("./toy-corpus.js");
    const { loadClips } = await import("../src/train/data.js");
    const { VOCODER_TRAIN, createVocoderTask } = await import("../src/train/vocoder-task.js");
    const dir = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-voc-")), 2, 1.5);
    const train = loadClips(dir, "train");
    const c = { ...VOCODER_CONFIGS["vocos-tiny"], ganStart: 1000 };
    const task = createVocoderTask(c, { ...VOCODER_TRAIN["vocos-tiny"], steps: 40, lr: 1e-3, emaDecay: 0 }, train, train, 0);
    const before = task.validate().mel;
    const r = new Rng(0);
    for (let s = 0; s < 40; s++) task.step(s, r);
    expect(task.validate().mel).toBeLessThan(0.8 * before);
  });
});
