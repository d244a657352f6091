import { describe, expect, it } from "vitest";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { countOverFullScale, KNEE, softLimitSample } from "../src/audio/limiter.js";
import { WavFileWriter } from "../src/audio/wav-writer.js";
import { readWav } from "../src/audio/wav.js";

describe("soft limiter for 16-bit output", () => {
  it("leaves samples up to the knee alone, keeps every sample below full scale, stays monotonic and continuous", () => {
    const x = Float32Array.from({ length: 4001 }, (_, i) => -2 + i / 1000);
    const y = Float32Array.from(x, softLimitSample);
    expect(countOverFullScale(x)).toBe(x.filter((v) => Math.abs(v) > 1).length);
    for (let i = 0; i < x.length; i++) {
      if (Math.abs(x[i]) <= KNEE) expect(y[i]).toBe(x[i]);
      expect(Math.abs(y[i])).toBeLessThanOrEqual(1); // tanh rounds to 1 in float32 only far beyond full scale
      if (i > 0) {
        expect(y[i]).toBeGreaterThanOrEqual(y[i - 1]);
        expect(y[i] - y[i - 1]).toBeLessThanOrEqual(0.0011); // slope <= 1: no jump at the knee
      }
    }
  });

  it("the WAV writer soft-limits pcm16 and counts the samples beyond full scale; float32 keeps them", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowmac-limit-"));
    const x = Float32Array.from({ length: 1000 }, (_, i) => 1.5 * Math.sin(i / 10));
    const over = x.filter((v) => Math.abs(v) > 1).length;
    const pcm = new WavFileWriter(join(dir, "a.wav"), 24000, x.length, "pcm16");
    pcm.write(x);
    pcm.close();
    expect(pcm.overFullScale).toBe(over);
    const back = readWav(new Uint8Array(readFileSync(join(dir, "a.wav")))).channels[0];
    expect(Math.max(...back.map(Math.abs))).toBeLessThanOrEqual(1);
    expect(Math.max(...back.map(Math.abs))).toBeGreaterThan(0.95); // limited, not scaled down
    const flt = new WavFileWriter(join(dir, "b.wav"), 24000, x.length, "float32");
    flt.write(x);
    flt.close();
    expect(flt.overFullScale).toBe(0);
    expect(Math.max(...readWav(new Uint8Array(readFileSync(join(dir, "b.wav")))).channels[0].map(Math.abs))).toBeGreaterThan(1.4);
  });
});
