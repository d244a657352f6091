import { softLimitSample } from "../src/audio/limiter.js";
import { describe, expect, it } from "vitest";
import { encodeWav, readWav } from "../src/audio/wav.js";
import { decodeToMono, downmix } from "../src/audio/load.js";
import { UserError } from "../src/util/errors.js";
import { WavFileWriter } from "../src/audio/wav-writer.js";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Builds a WAV by hand (independently of encodeWav) for any format tag and bit depth. */
function handWav(opts: { tag: number; bits: number; channels: number; rate: number; samples: number[]; extensible?: boolean; declaredData?: number }): Uint8Array {
  const { tag, bits, channels, rate, samples } = opts;
  const bps = bits / 8;
  const data = new Uint8Array(samples.length * bps);
  const dv = new DataView(data.buffer);
  samples.forEach((s, i) => {
    const p = i * bps;
    if (tag === 3) bits === 32 ? dv.setFloat32(p, s, true) : dv.setFloat64(p, s, true);
    else if (bits === 8) dv.setUint8(p, Math.round(s * 127) + 128);
    else if (bits === 16) dv.setInt16(p, Math.round(s * 32767), true);
    else if (bits === 24) {
      const v = Math.round(s * 8388607);
      dv.setUint8(p, v & 0xff);
      dv.setUint8(p + 1, (v >> 8) & 0xff);
      dv.setInt8(p + 2, v >> 16);
    } else dv.setInt32(p, Math.round(s * 2147483647), true);
  });
  const fmtLen = opts.extensible ? 40 : 16;
  const out = new Uint8Array(12 + 8 + fmtLen + 8 + data.length);
  const v = new DataView(out.buffer);
  const ascii = (p: number, s: string) => [...s].forEach((c, i) => (out[p + i] = c.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, out.length - 8, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, fmtLen, true);
  v.setUint16(20, opts.extensible ? 0xfffe : tag, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * channels * bps, true);
  v.setUint16(32, channels * bps, true);
  v.setUint16(34, bits, true);
  if (opts.extensible) {
    v.setUint16(36, 22, true);
    v.setUint16(38, bits, true);
    v.setUint32(40, 0, true);
    v.setUint16(44, tag, true); // sub-format GUID begins with the format tag
  }
  const d = 20 + fmtLen;
  ascii(d, "data");
  v.setUint32(d + 4, opts.declaredData ?? data.length, true);
  out.set(data, d + 8);
  return out;
}

// Stored as float32, so 32-bit PCM and float64 are exact only to float32 precision.
const ramp = [0, 0.25, -0.5, 0.75, -0.999, 0.5];

describe("WAV reader", () => {
  for (const [tag, bits, tol] of [
    [1, 8, 1 / 100], [1, 16, 1e-4], [1, 24, 1e-6], [1, 32, 1e-7], [3, 32, 1e-7], [3, 64, 1e-7],
  ] as const) {
    it(`reads ${tag === 3 ? "float" : "PCM"} ${bits}-bit, plain and extensible`, () => {
      for (const extensible of [false, true]) {
        const a = readWav(handWav({ tag, bits, channels: 1, rate: 16000, samples: ramp, extensible }));
        expect(a.sampleRate).toBe(16000);
        expect(a.channels).toHaveLength(1);
        a.channels[0].forEach((x, i) => expect(Math.abs(x - ramp[i])).toBeLessThan(tol));
      }
    });
  }

  it("de-interleaves multichannel audio and down-mixes it to the channel mean", () => {
    const a = readWav(handWav({ tag: 3, bits: 32, channels: 2, rate: 44100, samples: [0.5, -0.5, 0.25, 0.75] }));
    expect(Array.from(a.channels[0])).toEqual([0.5, 0.25]);
    expect(Array.from(a.channels[1])).toEqual([-0.5, 0.75]);
    expect(Array.from(downmix(a.channels))).toEqual([0, 0.5]);
  });

  it("round-trips through encodeWav (float exactly, pcm16 to a quantisation step, soft-limited above the knee)", () => {
    const x = Float32Array.from(ramp);
    expect(Array.from(readWav(encodeWav([x], 24000, "float32")).channels[0])).toEqual(Array.from(x));
    readWav(encodeWav([x], 24000, "pcm16")).channels[0].forEach((v, i) => expect(Math.abs(v - softLimitSample(x[i]))).toBeLessThan(1 / 32767));
  });

  it("rejects a truncated data chunk, naming the declared and present sizes", () => {
    const w = handWav({ tag: 1, bits: 16, channels: 1, rate: 16000, samples: ramp, declaredData: 1000 });
    expect(() => readWav(w, "t.wav")).toThrow(/t\.wav: invalid WAV file \(header declares 1000 bytes of audio but only 12/);
  });

  it("rejects lying headers: bad block align, unsupported bits, unsupported codec, no data", () => {
    const bad = handWav({ tag: 1, bits: 16, channels: 1, rate: 16000, samples: ramp });
    new DataView(bad.buffer).setUint16(32, 3, true);
    expect(() => readWav(bad)).toThrow(/block align 3/);
    expect(() => readWav(handWav({ tag: 1, bits: 16, channels: 1, rate: 16000, samples: ramp }).subarray(0, 36))).toThrow(/no data chunk/);
    const adpcm = handWav({ tag: 1, bits: 16, channels: 1, rate: 16000, samples: ramp });
    new DataView(adpcm.buffer).setUint16(20, 2, true);
    expect(() => readWav(adpcm)).toThrow(/unsupported encoding \(format tag 2\)/);
    const bits12 = handWav({ tag: 1, bits: 16, channels: 1, rate: 16000, samples: ramp });
    new DataView(bits12.buffer).setUint16(34, 12, true);
    expect(() => readWav(bits12)).toThrow(/12-bit/);
    const zeroRate = handWav({ tag: 1, bits: 16, channels: 1, rate: 16000, samples: ramp });
    new DataView(zeroRate.buffer).setUint32(24, 0, true);
    expect(() => readWav(zeroRate)).toThrow(/sample rate 0/);
  });

  it("decodeToMono rejects empty, NaN, zero-length and all-silent input with UserErrors", async () => {
    await expect(decodeToMono(new Uint8Array(0), "e.wav")).rejects.toThrow(/e\.wav: file is empty/);
    await expect(decodeToMono(handWav({ tag: 3, bits: 32, channels: 1, rate: 24000, samples: [0.1, NaN] }), "n.wav")).rejects.toThrow(/sample 1 is NaN/);
    await expect(decodeToMono(handWav({ tag: 1, bits: 16, channels: 1, rate: 24000, samples: [] }), "z.wav")).rejects.toThrow(/contains no samples/);
    await expect(decodeToMono(handWav({ tag: 1, bits: 16, channels: 1, rate: 24000, samples: [0, 0, 0] }), "s.wav")).rejects.toThrow(/all zeros/);
    await expect(decodeToMono(new TextEncoder().encode("hello, not audio"), "x.txt")).rejects.toBeInstanceOf(UserError);
  });
});

describe("WavFileWriter (decode's streamed output)", () => {
  it("writes, piece by piece, the same bytes as encodeWav of the whole signal, for both formats", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowmac-wavw-"));
    const x = Float32Array.from({ length: 5000 }, (_, i) => 1.2 * Math.sin(i * 0.05)); // clips in pcm16
    for (const format of ["pcm16", "float32"] as const) {
      const path = join(dir, `${format}.wav`);
      const w = new WavFileWriter(path, 24000, x.length, format);
      for (let s = 0; s < x.length; s += 1234) w.write(x.subarray(s, s + 1234));
      w.close();
      expect(Buffer.from(readFileSync(path)).equals(Buffer.from(encodeWav([x], 24000, format)))).toBe(true);
    }
  });

  it("leaves no file behind when fewer samples than announced arrive", () => {
    const dir = mkdtempSync(join(tmpdir(), "flowmac-wavw-"));
    const w = new WavFileWriter(join(dir, "short.wav"), 24000, 100);
    w.write(new Float32Array(50));
    expect(() => w.close()).toThrow(/50 of 100/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
