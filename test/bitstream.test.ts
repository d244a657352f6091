import { describe, expect, it } from "vitest";
import { crc32 } from "../src/bitstream/crc32.js";
import { fitCodeModel, parseCodeModel, serializeCodeModel, streamIndexBits } from "../src/bitstream/code-model.js";
import { framesFor, packBits, readFmac, unpackBits, writeFmac, type FmacStream } from "../src/bitstream/fmac.js";
import { UserError } from "../src/util/errors.js";
import { Rng } from "../src/nn/rng.js";
import type { EngineInfo, InferenceEngine } from "../src/model/engine.js";
import { decodeAudio } from "../src/model/pipeline.js";
import { firstCodeBeyond, streamMismatch } from "../src/model/stream-fit.js";

/** A rate-allocated (version 2) stream: counts that wander over 1..stages, codes 0 beyond them. */
function allocatedStream(rng: Rng, length: number, stages = 16, bits = 8): FmacStream {
  const s = stream(rng, length, stages, bits);
  const frameStages = new Uint8Array(s.frames);
  let n = 1 + rng.int(stages);
  for (let t = 0; t < s.frames; t++) {
    const r = rng.int(10);
    if (r === 0) n = 1 + rng.int(stages);
    else if (r < 3) n = Math.min(stages, Math.max(1, n + (r === 1 ? 1 : -1)));
    frameStages[t] = n;
    s.codes.fill(0, t * stages + n, (t + 1) * stages);
  }
  return { ...s, frameStages, baseStages: 1 + rng.int(stages) };
}

function stream(rng: Rng, length: number, stages = 8, bits = 8): FmacStream {
  const frames = framesFor(length);
  return {
    modelId: "0123456789abcdef",
    sampleRate: 24000,
    stages,
    bitsPerIndex: bits,
    length,
    frames,
    codes: Uint16Array.from({ length: frames * stages }, () => rng.int(1 << bits)),
  };
}

describe(".fmac bitstream", () => {
  it("CRC-32 matches the standard check value", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("round-trips header and codes, for 8-bit and odd bit widths", () => {
    const rng = new Rng(1);
    for (const [stages, bits] of [[8, 8], [4, 8], [16, 10], [3, 5]]) {
      const s = stream(rng, 24000 * 3 + 123, stages, bits);
      const bytes = writeFmac(s);
      expect(bytes.length).toBe(36 + Math.ceil((s.frames * stages * bits) / 8) + 4);
      expect(readFmac(bytes)).toEqual(s);
    }
  });

  it("at 8 stages x 8 bits the payload is exactly 3000 bit/s of audio", () => {
    const s = stream(new Rng(2), 24000 * 10 - 1);
    const payloadBits = (writeFmac(s).length - 40) * 8;
    expect(payloadBits / 10).toBeCloseTo(3000, -1);
  });

  it("packBits/unpackBits are inverse", () => {
    const v = Uint16Array.from({ length: 101 }, (_, i) => (i * 37) % 1024);
    const out = new Uint8Array(Math.ceil((101 * 10) / 8));
    packBits(v, 10, out);
    expect(unpackBits(out, 10, 101)).toEqual(v);
  });

  it("rejects foreign, truncated, padded and corrupted files with one-line UserErrors", () => {
    const good = writeFmac(stream(new Rng(3), 48000));
    const bad = (b: Uint8Array, re: RegExp) => {
      let err: unknown;
      try {
        readFmac(b, "x.fmac");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain("\n");
    };
    bad(new TextEncoder().encode("RIFF....WAVE"), /x\.fmac: not a \.fmac file/);
    bad(new Uint8Array(0), /not a \.fmac file/);
    bad(good.subarray(0, 20), /truncated/);
    bad(good.subarray(0, good.length - 1), /truncated/);
    bad(Uint8Array.from([...good, 0]), /trailing bytes/);
    const flipped = Uint8Array.from(good);
    flipped[100] ^= 1;
    bad(flipped, /CRC mismatch/);
    const v4 = Uint8Array.from(good);
    v4[4] = 4;
    bad(v4, /version 4 is not supported/);
  });

  it("rejects set reserved fields and pad bits, even with a valid CRC (found by npm run fuzz)", () => {
    const s = stream(new Rng(5), 1000, 3, 5); // 3 frames x 3 stages x 5 bits: 45 bits, 3 pad bits
    const good = writeFmac(s);
    const resealed = (edit: (b: Uint8Array) => void) => {
      const b = Uint8Array.from(good);
      edit(b);
      new DataView(b.buffer).setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
      return () => readFmac(b, "x.fmac");
    };
    expect(resealed(() => {})()).toEqual(s);
    expect(resealed((b) => (b[5] = 4))).toThrow(/x\.fmac: corrupt \.fmac header \(reserved flags 0x4; version 1 defines only the predictive flag\)/);
    expect(resealed((b) => (b[5] = 3))).toThrow(/reserved flags 0x3/);
    expect(resealed((b) => (b[5] = 1))()).toEqual({ ...s, predictive: true });
    expect(resealed((b) => (b[23] = 1))).toThrow(/reserved bytes 22-23 0x100/);
    expect(resealed((b) => (b[b.length - 5] |= 0x80))).toThrow(/x\.fmac: corrupt \.fmac file \(pad bits after the last index are not 0\)/);
    expect(resealed((b) => (b[b.length - 5] ^= 0x10))).not.toThrow(); // the last index's own bits
  });

  it("a predictive stream carries flag 1 in versions 1 and 2 and round-trips; version 3 (entropy-coded) cannot be predictive", () => {
    const s = { ...stream(new Rng(8), 30000, 4), predictive: true };
    const bytes = writeFmac(s);
    expect(bytes[4]).toBe(1);
    expect(bytes[5]).toBe(1);
    expect(readFmac(bytes)).toEqual(s);
    expect(writeFmac({ ...s, predictive: false })[5]).toBe(0);
    const a = { ...allocatedStream(new Rng(9), 30000), predictive: true };
    const v2 = writeFmac(a);
    expect([v2[4], v2[5]]).toEqual([2, 1]);
    expect(readFmac(v2)).toEqual(a);
    v2[5] = 3;
    new DataView(v2.buffer).setUint32(v2.length - 4, crc32(v2.subarray(0, v2.length - 4)), true);
    expect(() => readFmac(v2, "a.fmac")).toThrow(/a\.fmac: corrupt \.fmac header \(reserved flags 0x3; version 2 defines only the predictive flag\)/);
    expect(() => writeFmac({ ...a, codeModel: fitCodeModel([a.codes], 16, 256) })).toThrow(/not entropy-coded/);
  });

  it("version 2 (per-frame stage counts) round-trips, and its size is the counts' code plus the indices", () => {
    const rng = new Rng(6);
    for (const [stages, bits] of [[16, 8], [8, 8], [5, 3], [2, 10]]) {
      const s = allocatedStream(rng, 24000 * 2 + 77, stages, bits);
      const bytes = writeFmac(s);
      expect(bytes[4]).toBe(2);
      expect(readFmac(bytes)).toEqual(s);
      const w = Math.max(1, Math.ceil(Math.log2(Math.max(2, stages - 2))));
      let codeBits = 0;
      let prev = s.baseStages!;
      for (const n of s.frameStages!) {
        const d = Math.abs(n - prev);
        codeBits += n * bits + (d === 0 ? 1 : d === 1 ? 3 : 3 + w);
        prev = n;
      }
      expect(bytes.length).toBe(36 + Math.ceil(codeBits / 8) + 4);
    }
    // Counts outside 1..stages cannot be written.
    const s = allocatedStream(rng, 5000, 4);
    s.frameStages![2] = 5;
    expect(() => writeFmac(s)).toThrow(/outside 1\.\.4/);
  });

  it("version 2: truncation, trailing bytes, impossible counts and set pad bits are one-line errors", () => {
    const s = allocatedStream(new Rng(7), 30000, 8, 8);
    const good = writeFmac(s);
    const resealed = (b: Uint8Array) => {
      new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
      return () => readFmac(b, "y.fmac");
    };
    expect(() => readFmac(good.subarray(0, good.length - 1), "y.fmac")).toThrow(/y\.fmac: corrupt or truncated \.fmac file \(CRC mismatch\)/);
    // Cut inside the payload, CRC recomputed: the counts run out of data.
    expect(resealed(Uint8Array.from([...good.subarray(0, 60), 0, 0, 0, 0]))).toThrow(/truncated \.fmac file \(the data ends in frame \d+ of \d+\)/);
    expect(resealed(Uint8Array.from([...good.subarray(0, good.length - 4), 0, 0, 0, 0, 0]))).toThrow(/unexpected trailing bytes/);
    // A base count beyond the stages.
    const base = Uint8Array.from(good);
    base[22] = 9;
    expect(resealed(base)).toThrow(/base stage count 9/);
    // The first frame's change code rewritten to "+/-(2 + m)" with a large m: a count beyond 1..8.
    const big = Uint8Array.from(good);
    big[22] = 8;
    big[36] = (big[36] & ~0b111111) | 0b11 | (0 << 2) | (0b111 << 3); // +9 from 8
    expect(resealed(big)).toThrow(/would carry \d+ stages, outside 1\.\.8/);
  });

  it("fuzz: random corruption never crashes the parser and is never accepted silently (versions 1 and 2)", () => {
    const rng = new Rng(4);
    for (let i = 0; i < 4000; i++) {
      const good = i % 2 ? writeFmac(allocatedStream(new Rng(100), 30000)) : writeFmac(stream(new Rng(101), 30000));
      const b = Uint8Array.from(good);
      const mode = rng.int(3);
      if (mode === 0) for (let k = 0, n = 1 + rng.int(4); k < n; k++) b[rng.int(b.length)] ^= 1 + rng.int(255);
      const input = mode === 1 ? b.subarray(0, rng.int(b.length)) : mode === 2 ? Uint8Array.from({ length: rng.int(200) }, () => rng.int(256)) : b;
      let res: FmacStream | null = null;
      try {
        res = readFmac(input, "f");
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        continue;
      }
      // Only an unchanged file parses (a corruption that restores the same bytes is not one).
      expect(Buffer.compare(Buffer.from(input), Buffer.from(good))).toBe(0);
      expect(res).not.toBeNull();
    }
  });
});

describe(".fmac version 3 (entropy-coded)", () => {
  /** Code tables fitted on streams whose indices of the first stages repeat across frames, as real ones do. */
  const sticky = (rng: Rng, length: number, stages: number, bits: number): FmacStream => {
    const s = allocatedStream(rng, length, stages, bits);
    for (let t = 1; t < s.frames; t++) for (let k = 0; k < Math.min(2, s.frameStages![t]); k++) if (rng.int(3) > 0) s.codes[t * stages + k] = s.codes[(t - 1) * stages + k];
    return s;
  };
  /** Fitted on streams with every stage present (as the encoder's first pass gives them), the first two stages sticky, the rest random. */
  const fitted = (stages: number, bits: number) =>
    fitCodeModel(
      [0, 1, 2].map((i) => {
        const rng = new Rng(50 + i);
        const s = stream(rng, 24000 * 40, stages, bits);
        for (let t = 1; t < s.frames; t++) for (let k = 0; k < 2; k++) if (rng.int(3) > 0) s.codes[t * stages + k] = s.codes[(t - 1) * stages + k];
        return s.codes;
      }),
      stages,
      2 ** bits,
    );

  it("round-trips, costs less than version 2 where indices repeat, and carries its tables through serialisation", () => {
    for (const [stages, bits] of [[16, 8], [5, 3]]) {
      const m = parseCodeModel(serializeCodeModel(fitted(stages, bits)), "t");
      // The repeating stages pay for tables, the random ones do not.
      expect(m.stages.length).toBeGreaterThanOrEqual(1);
      expect(m.stages.length).toBeLessThanOrEqual(2);
      const s = { ...sticky(new Rng(9), 24000 * 3 + 5, stages, bits), codeModel: m };
      const bytes = writeFmac(s);
      expect(bytes[4]).toBe(3);
      expect(readFmac(bytes, "x", m)).toEqual(s);
      const v2 = writeFmac({ ...s, codeModel: undefined });
      expect(v2[4]).toBe(2);
      expect(bytes.length).toBeLessThan(v2.length);
      // The saving is what the tables say the indices cost, within the coder's few bytes.
      const saved = (s.frameStages!.reduce((a, n) => a + n * bits, 0) - streamIndexBits(m, s.codes, s.frameStages!, s.frames, stages)) / 8;
      expect(Math.abs(v2.length - bytes.length - saved)).toBeLessThan(6);
    }
  });

  it("needs the model's tables, and reports truncation, trailing bytes and undecodable data in one line", () => {
    const m = fitted(8, 8);
    const good = writeFmac({ ...sticky(new Rng(11), 30000, 8, 8), codeModel: m });
    expect(() => readFmac(good, "z.fmac")).toThrow(/z\.fmac: entropy-coded \.fmac \(version 3\): reading it needs the code tables of the model that wrote it \(id 0123456789abcdef\)/);
    const resealed = (b: Uint8Array) => {
      new DataView(b.buffer, b.byteOffset).setUint32(b.length - 4, crc32(b.subarray(0, b.length - 4)), true);
      return () => readFmac(b, "z.fmac", m);
    };
    expect(() => readFmac(good.subarray(0, good.length - 1), "z.fmac", m)).toThrow(/CRC mismatch/);
    expect(resealed(Uint8Array.from([...good.subarray(0, 60), 0, 0, 0, 0]))).toThrow(/z\.fmac: (truncated|corrupt) \.fmac file/);
    expect(resealed(Uint8Array.from([...good.subarray(0, good.length - 4), 7, 0, 0, 0, 0]))).toThrow(/unexpected trailing bytes/);
    const rng = new Rng(12);
    for (let i = 0; i < 2000; i++) {
      const b = Uint8Array.from(good);
      for (let k = 0, n = 1 + rng.int(3); k < n; k++) b[36 + rng.int(b.length - 40)] ^= 1 + rng.int(255);
      const input = i % 2 ? b : b.subarray(0, 40 + rng.int(b.length - 40));
      // Resealed, the CRC passes and the range decoder meets the corruption itself: a UserError or some
      // well-formed stream, never a crash. Not resealed, the CRC must catch it.
      const sealed = i % 3 === 0;
      try {
        const r = sealed ? resealed(Uint8Array.from(input))() : readFmac(input, "f", m);
        expect(r.codes.length).toBe(r.frames * r.stages);
        if (!sealed) expect(Buffer.compare(Buffer.from(input), Buffer.from(good))).toBe(0);
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
      }
    }
  });

  it("corrupt code tables in a model are a one-line error", () => {
    expect(() => parseCodeModel("{}", "m.safetensors")).toThrow(/m\.safetensors: corrupt code tables/);
    const good = JSON.parse(serializeCodeModel(fitted(4, 3)));
    expect(() => parseCodeModel(JSON.stringify({ ...good, tables: good.tables.slice(8) }), "m")).toThrow(/m: corrupt code tables \(\d+ table bytes for \d+ stages of 8 symbols\)/);
  });
});

describe("codes against the model", () => {
  const info = { codec: { nMels: 128, rvq: { stages: 4, codebookSize: 64 } } } as unknown as EngineInfo;
  /** An engine whose networks must not run: the checks come first. */
  const untouchable: InferenceEngine = {
    name: "untouchable",
    info,
    encode: () => Promise.reject(new Error("engine ran")),
    prior: () => Promise.reject(new Error("engine ran")),
    latent: () => Promise.reject(new Error("engine ran")),
    searchMetricParts: () => new Float32Array(0),
    priorFromLatent: () => Promise.reject(new Error("engine ran")),
    vectorField: () => Promise.reject(new Error("engine ran")),
    vocode: () => Promise.reject(new Error("engine ran")),
    dispose() {},
  };

  it("streamMismatch names the first index beyond a codebook, and a bits-per-index that is not the codebooks'", () => {
    const s = { ...stream(new Rng(3), 24000, 4, 6), modelId: "0123456789abcdef" };
    const fits = { ...info, modelId: s.modelId };
    expect(streamMismatch(s, fits)).toBeNull();
    const codes = Uint16Array.from(s.codes);
    codes[4 * 3 + 2] = 64;
    expect(streamMismatch({ ...s, codes }, fits)).toBe("corrupt .fmac file (index 64 at frame 3, stage 2; the codebooks have 64 entries)");
    expect(streamMismatch({ ...s, bitsPerIndex: 8 }, fits)).toMatch(/8 bits per index; the model's codebooks have 64 entries, 6 bits/);
    expect(firstCodeBeyond([0, 63, 12], 64)).toBe(-1);
    expect(firstCodeBeyond([0, 63, 300], 64)).toBe(2);
  });

  it("the decoder refuses codes beyond the codebooks, or more stages than the model's, before any network runs", async () => {
    const frames = framesFor(2400);
    const o = { steps: 1, guidance: 0, temperature: 1, seed: 0 };
    const codes = new Uint16Array(frames * 4);
    codes[7] = 64;
    await expect(decodeAudio(untouchable, codes, frames, 4, 2400, o)).rejects.toThrow(/code 64 \(frame 1, stage 3\) is beyond the codebooks' 64 entries/);
    await expect(decodeAudio(untouchable, new Uint16Array(frames * 5), frames, 5, 2400, o)).rejects.toThrow(/5 RVQ stages given; the model has 4/);
  });

  it("writeFmac refuses a code that does not fit its bits (packing would turn it into another)", () => {
    const s = stream(new Rng(4), 2400, 2, 6);
    s.codes[3] = 64;
    expect(() => writeFmac(s)).toThrow(/code 64 does not fit in 6 bits/);
  });
});
