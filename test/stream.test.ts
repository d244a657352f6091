import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initJax } from "../src/nn/runtime.js";
import { encodeWav } from "../src/audio/wav.js";
import { loadAudio } from "../src/audio/load.js";
import { openAudioStream } from "../src/audio/stream.js";
import { resample, StreamResampler } from "../src/audio/resample.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { encodeAudio, encodeChunks } from "../src/model/pipeline.js";
import { UserError } from "../src/util/errors.js";
import { tinyModel, testSignal } from "./tiny-model.js";

let dir: string;
beforeAll(async () => {
  await initJax();
  dir = mkdtempSync(join(tmpdir(), "flowmac-stream-"));
});

async function collect(chunks: AsyncIterable<Float32Array>, length: number): Promise<Float32Array> {
  const out = new Float32Array(length);
  let o = 0;
  for await (const c of chunks) {
    const n = Math.min(c.length, length - o);
    out.set(c.subarray(0, n), o);
    o += n;
  }
  expect(o).toBe(length);
  return out;
}

describe("streamed input", () => {
  it("the streaming resampler gives bit-identical output however the input is cut", async () => {
    const x = testSignal(2.3, 44100);
    const whole = await resample(x, 44100, 24000);
    for (const size of [1000, 4097, 70000]) {
      const r = await StreamResampler.create(44100, 24000);
      async function* pieces() {
        for (let s = 0; s < x.length; s += size) yield r.push(x.subarray(s, Math.min(x.length, s + size)));
        yield r.finish();
      }
      expect(await collect(pieces(), whole.length)).toEqual(whole);
    }
  });

  it("a long 44.1 kHz stereo WAV streams to the same samples and the same codes as loading it whole", async () => {
    const left = testSignal(21, 44100); // > 3 encoder blocks, > 10 read chunks
    const right = left.map((v, i) => 0.5 * v + 0.01 * Math.sin(i / 7));
    const path = join(dir, "long.wav");
    writeFileSync(path, encodeWav([left, right], 44100, "pcm16"));
    const whole = await loadAudio(path);
    const stream = await openAudioStream(path);
    expect(stream.length).toBe(whole.length);
    expect(await collect(stream.chunks(), stream.length)).toEqual(whole);
    const engine = await OnnxEngine.create(ort as any, exportModelOnnx(tinyModel(2)));
    const a = await encodeAudio(engine, whole);
    const b = await encodeChunks(engine, (await openAudioStream(path)).chunks(), whole.length);
    expect(b.frames).toBe(a.frames);
    expect(b.codes).toEqual(a.codes);
    engine.dispose();
  });

  it("each encoder block sees exactly the rows of the whole signal's normalised mel (silence outside it)", async () => {
    const { MelFrontEnd } = await import("../src/audio/mel.js");
    const { normalizeMel } = await import("../src/audio/stats.js");
    const { BLOCK, MARGIN, blockStarts } = await import("../src/model/pipeline.js");
    const m = tinyModel(4);
    const x = testSignal(15.3);
    const whole = normalizeMel((await MelFrontEnd.fast()).compute(x), m.info.stats);
    const seen: Float32Array[] = [];
    const engine = await OnnxEngine.create(ort as any, exportModelOnnx(m));
    const spy = Object.create(engine);
    spy.encode = (mel: Float32Array, frames: number, search: undefined, valid: Float32Array) => (seen.push(mel.slice()), engine.encode(mel, frames, search, valid));
    async function* pieces() {
      for (let s = 0; s < x.length; s += 7777) yield x.subarray(s, Math.min(x.length, s + 7777));
    }
    await encodeChunks(spy, pieces(), x.length);
    const starts = blockStarts(whole.frames);
    expect(seen.length).toBe(starts.length);
    starts.forEach((start, k) => {
      for (const i of [0, MARGIN, BLOCK / 2, BLOCK - 1]) {
        const t = start - MARGIN + i;
        if (t < 0 || t >= whole.frames) continue;
        const row = seen[k].subarray(i * 128, (i + 1) * 128);
        expect(Math.max(...row.map((v, b) => Math.abs(v - whole.data[t * 128 + b])))).toBeLessThan(1e-5);
      }
    });
    engine.dispose();
  });

  it("bad samples are reported while streaming, with the sample index", async () => {
    const nan = new Float32Array(200000).fill(0.1);
    nan[150000] = NaN; // in the third read chunk
    writeFileSync(join(dir, "nan.wav"), encodeWav([nan], 24000, "float32"));
    const s = await openAudioStream(join(dir, "nan.wav"));
    await expect(collect(s.chunks(), s.length)).rejects.toThrow(/nan\.wav: sample 150000 is NaN/);
    writeFileSync(join(dir, "silent.wav"), encodeWav([new Float32Array(100000)], 24000));
    const q = await openAudioStream(join(dir, "silent.wav"));
    await expect(collect(q.chunks(), q.length)).rejects.toThrow(UserError);
    await expect(openAudioStream(join(dir, "missing.wav"))).rejects.toThrow(/missing\.wav: no such file/);
  });
});

describe("compressed inputs (FLAC, MP3, Ogg Vorbis, Opus), streamed", () => {
  const fixtures = fileURLToPath(new URL("./fixtures/audio/", import.meta.url));
  // name, seconds of audio the file was made from (see fixtures/audio/README.md)
  const files: [string, number][] = [
    ["sweep-16k-mono.flac", 1.5],
    ["sweep-44k-stereo.mp3", 2],
    ["sweep-48k-stereo.ogg", 2],
    ["square-48k-mono.opus", 2],
  ];
  for (const [name, seconds] of files)
    it(`${name}: decoded chunk by chunk, the same 24 kHz samples as whole-file decoding`, async () => {
      const path = join(fixtures, name);
      const whole = await loadAudio(path);
      expect(Math.abs(whole.length - seconds * 24000)).toBeLessThan(0.05 * seconds * 24000); // codec delay/padding only
      expect(Math.sqrt(whole.reduce((a, v) => a + v * v, 0) / whole.length)).toBeGreaterThan(0.05); // real signal, not silence
      const s = await openAudioStream(path);
      expect(s.length).toBe(whole.length);
      const streamed = await collect(s.chunks(), s.length);
      expect(streamed).toEqual(whole);
    });

  it("a damaged compressed file gives a one-line error, not a crash", async () => {
    const bytes = readFileSync(join(fixtures, "sweep-16k-mono.flac"));
    const damaged = join(dir, "damaged.flac");
    writeFileSync(damaged, Buffer.concat([bytes.subarray(0, 64), Buffer.alloc(4096, 0xa5)]));
    await expect((async () => {
      const s = await openAudioStream(damaged);
      await collect(s.chunks(), s.length);
    })()).rejects.toThrow(UserError);
  });

  it("the wasm decoders' own console.error lines about a damaged file are dropped, both ways in (found by npm run fuzz)", async () => {
    const mp3 = readFileSync(join(fixtures, "sweep-44k-stereo.mp3"));
    const damaged = join(dir, "damaged.mp3");
    writeFileSync(damaged, Buffer.concat([mp3.subarray(0, 600), Buffer.alloc(4000, 0xa5)])); // mpg123 reports MPG123_ERR
    const printed: unknown[][] = [];
    const saved = console.error;
    console.error = (...args: unknown[]) => void printed.push(args);
    try {
      await loadAudio(damaged).catch(() => {});
      const s = await openAudioStream(damaged);
      await collect(s.chunks(), s.length).catch(() => {});
      console.error("other lines pass");
    } finally {
      console.error = saved;
    }
    expect(printed).toEqual([["other lines pass"]]);
  });

  /** Both ways in: whole-file (mel, eval) and streamed (encode); each must refuse with `re`. */
  async function expectRefused(path: string, re: RegExp) {
    await expect(loadAudio(path)).rejects.toThrow(re);
    await expect((async () => {
      const s = await openAudioStream(path);
      await collect(s.chunks(), s.length);
    })()).rejects.toThrow(re);
  }

  it("a cut or damaged FLAC file is refused: fewer samples than its STREAMINFO states", async () => {
    const bytes = readFileSync(join(fixtures, "sweep-16k-mono.flac"));
    for (const keep of [0.5, 0.9]) {
      const cut = join(dir, `cut-${keep}.flac`);
      writeFileSync(cut, bytes.subarray(0, Math.round(bytes.length * keep)));
      await expectRefused(cut, /file ended early or is damaged \(its header states 24000 samples, \d+ could be decoded\)/);
    }
    // A damaged frame mid-stream: the decoder stops there without an error of its own.
    const damaged = Uint8Array.from(bytes);
    damaged[bytes.length >> 1] ^= 0x10;
    writeFileSync(join(dir, "damaged-mid.flac"), damaged);
    await expectRefused(join(dir, "damaged-mid.flac"), /file ended early or is damaged \(its header states 24000 samples/);
  });

  it("a cut or damaged Ogg file (Vorbis, Opus) is refused: no end-of-stream page, or a page CRC mismatch", async () => {
    for (const name of ["sweep-48k-stereo.ogg", "square-48k-mono.opus"]) {
      const bytes = readFileSync(join(fixtures, name));
      for (const keep of [0.5, 0.9]) {
        const cut = join(dir, `cut-${keep}-${name}`);
        writeFileSync(cut, bytes.subarray(0, Math.round(bytes.length * keep)));
        await expectRefused(cut, /file ended early \(its last Ogg page is cut short\)/);
      }
      // Cut exactly after a page: every page is whole, but the stream never ends.
      const pages: number[] = [];
      for (let p = bytes.indexOf("OggS"); p >= 0; p = bytes.indexOf("OggS", p + 1)) pages.push(p);
      const atPage = join(dir, `at-page-${name}`);
      writeFileSync(atPage, bytes.subarray(0, pages[pages.length - 2]));
      await expectRefused(atPage, /file ended early \(an Ogg stream has no end-of-stream page\)/);
      const damaged = Uint8Array.from(bytes);
      damaged[Math.round(bytes.length * 0.6)] ^= 0x10;
      writeFileSync(join(dir, `damaged-${name}`), damaged);
      await expectRefused(join(dir, `damaged-${name}`), /corrupt Ogg page at byte \d+ \(CRC mismatch\)/);
    }
  });
});
