import { describe, expect, it } from "vitest";
import { crc32 } from "../src/bitstream/crc32.js";
import { framesFor, packBits, readFmac, unpackBits, writeFmac, type FmacStream } from "../src/bitstream/fmac.js";
import { UserError } from "../src/util/errors.js";
import { Rng } from "../src/nn/rng.js";
import type { EngineInfo, InferenceEngine } from "../src/model/engine.js";
import { decodeAudio } from "../src/model/pipeline.js";
import { firstCodeBeyond, streamMismatch } from "../src/model/stream-fit.js";

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
    const v2 = Uint8Array.from(good);
    v2[4] = 2;
    bad(v2, /version 2 is not supported/);
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
    expect(resealed((b) => (b[5] = 4))).toThrow(/x\.fmac: corrupt \.fmac header \(reserved flags 0x4; version 1 defines none\)/);
    expect(resealed((b) => (b[23] = 1))).toThrow(/reserved bytes 22-23 0x100/);
    expect(resealed((b) => (b[b.length - 5] |= 0x80))).toThrow(/x\.fmac: corrupt \.fmac file \(pad bits after the last index are not 0\)/);
    expect(resealed((b) => (b[b.length - 5] ^= 0x10))).not.toThrow(); // the last index's own bits
  });

  it("fuzz: random corruption never crashes the parser and is never accepted silently", () => {
    const rng = new Rng(4);
    const good = writeFmac(stream(rng, 30000));
    for (let i = 0; i < 2000; i++) {
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

describe("codes against the model", () => {
  const info = { codec: { nMels: 128, rvq: { stages: 4, codebookSize: 64 } } } as unknown as EngineInfo;
  /** An engine whose networks must not run: the checks come first. */
  const untouchable: InferenceEngine = {
    name: "untouchable",
    info,
    encode: () => Promise.reject(new Error("engine ran")),
    prior: () => Promise.reject(new Error("engine ran")),
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
