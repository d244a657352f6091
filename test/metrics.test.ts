import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { logMelL1, melCepstralDistortion, multiResolutionStft, siSdr } from "../src/eval/metrics.js";
import { stoi10k } from "../src/eval/stoi.js";
import { parseSafeTensors } from "../src/util/safetensors.js";
import { FIXTURES } from "./helpers.js";
import { codecFromSpec } from "../src/eval/codecs.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { initJax } from "../src/nn/runtime.js";
import { testSignal, tinyModel } from "./tiny-model.js";

async function tinyModelEngine() {
  await initJax();
  const m = tinyModel(1);
  return new JaxEngine(m.info, m.codec, m.buffers, m.generator);
}

// Reference values: scripts/reference/metrics_reference.py, run with Debian's
// /usr/bin/python3 (numpy/scipy), an independent implementation of each metric.
const ref = JSON.parse(readFileSync(`${FIXTURES}metrics/reference.json`, "utf8"));
const sig = parseSafeTensors(new Uint8Array(readFileSync(`${FIXTURES}metrics/signals.safetensors`))).tensors;
const f32 = (k: string) => sig.get(k)!.data as Float32Array;
const f64 = (k: string) => Float64Array.from(f32(k));

describe("metrics agree with the numpy/scipy reference", () => {
  it("STOI and ESTOI (10 kHz signals), to 1e-6", () => {
    expect(stoi10k(f64("ref10"), f64("deg10"), false)).toBeCloseTo(ref.stoi_noise, 6);
    expect(stoi10k(f64("ref10"), f64("deg10"), true)).toBeCloseTo(ref.estoi_noise, 6);
    expect(stoi10k(f64("ref10"), f64("deg10b"), false)).toBeCloseTo(ref.stoi_smear, 6);
    expect(stoi10k(f64("ref10"), f64("deg10b"), true)).toBeCloseTo(ref.estoi_smear, 6);
    expect(stoi10k(f64("ref10"), f64("ref10"), false)).toBeCloseTo(1, 6);
  });

  it("SI-SDR, multi-resolution STFT, MCD and log-mel L1 (24 kHz)", () => {
    expect(siSdr(f32("ref24"), f32("deg24"))).toBeCloseTo(ref.si_sdr, 3);
    const m = multiResolutionStft(f32("ref24"), f32("deg24"));
    expect(m.sc).toBeCloseTo(ref.mrstft_sc, 4);
    expect(m.logMag).toBeCloseTo(ref.mrstft_logmag, 4);
    expect(melCepstralDistortion(f32("ref24"), f32("deg24"))).toBeCloseTo(ref.mcd, 3);
    expect(logMelL1(f32("ref24"), f32("deg24"))).toBeCloseTo(ref.mel_l1, 4);
  });

  it("SI-SDR is scale-invariant and a metric never compares different lengths", () => {
    const a = f32("ref24");
    const scaled = a.map((v) => 3 * v);
    expect(siSdr(a, scaled)).toBeGreaterThan(100);
    expect(() => siSdr(a, a.subarray(1))).toThrow(/differ in length/);
    expect(() => logMelL1(a, a.subarray(5))).toThrow(/align them first/);
  });
});

describe("block-join measure", () => {
  it("is ~1 for a signal without discontinuities and flags a jump at a join", async () => {
    const { blockJoinStats } = await import("../src/eval/joins.js");
    const { CORE } = await import("../src/model/pipeline.js");
    const frames = 3 * CORE + 50;
    const smooth = new Float32Array(frames * 128).map((_, i) => Math.sin(Math.floor(i / 128) * 0.3 + (i % 128) * 0.1));
    const s = blockJoinStats(smooth, frames);
    expect(s.joins).toBe(3);
    for (const r of [s.meanRatio, s.maxRatio]) {
      expect(r).toBeGreaterThan(0.8);
      expect(r).toBeLessThan(1.2);
    }
    const jumpy = Float32Array.from(smooth);
    for (let t = CORE; t < frames; t++) for (let m = 0; m < 128; m++) jumpy[t * 128 + m] += t >= CORE ? 2 : 0;
    expect(blockJoinStats(jumpy, frames).maxRatio).toBeGreaterThan(2);
  });
});

describe("evaluation codec specs", () => {
  const engine = async () => tinyModelEngine();
  it("parse steps, guidance and temperature overrides into names and command lines", async () => {
    const c = await codecFromSpec("flowmac@0.5:g0.5:8:t0.7", engine);
    expect(c.name).toBe("flowmac@0.5:g0.5:8:t0.7");
    const run = await c.run(testSignal(0.5));
    expect(run.commands[0]).toMatch(/--kbps 0.5 --steps 8 --guidance 0.5 --temperature 0.7/);
    expect((await codecFromSpec("flowmac-lc@1", engine)).name).toBe("flowmac-lc@1");
  });
  it("name a refiner's settings, and vocoder rows' commands reproduce them", async () => {
    const only = await codecFromSpec("vocoder-only:i4:p0", engine);
    expect(only.name).toBe("vocoder-only:i4:p0");
    expect((await only.run(testSignal(0.3))).commands[0]).toBe("flowmac resynth --phase-iterations 4 --mel-projection 0 (original mel -> vocoder)");
    const swapped = await codecFromSpec("vocoder-only/pghi", engine);
    expect(swapped.name).toBe("vocoder-only/pghi");
    expect((await swapped.run(testSignal(0.3))).commands[0]).toBe("flowmac resynth --vocoder pghi (original mel -> vocoder)");
    expect((await codecFromSpec("flowmac-lc@1:p3", engine)).name).toBe("flowmac-lc@1:p3");
  });
  it("refuses malformed specs with a message naming them", () => {
    for (const bad of ["flowmac@3:x1", "flowmac@3:g", "flowmac@3:-1", "flowmac3", "opus@", "vocoder-only:q3", "vocoder-only:p"]) expect(() => codecFromSpec(bad, engine), bad).toThrow(/flowmac@3|at least 1|unknown codec/);
  });
});
