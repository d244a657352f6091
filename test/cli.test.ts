import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { encodeWav } from "../src/audio/wav.js";
import { crc32 } from "../src/bitstream/crc32.js";
import { readFmac, writeFmac, type FmacStream } from "../src/bitstream/fmac.js";
import { initJax } from "../src/nn/runtime.js";
import { BIN, expectCleanFailure as expectCleanFailureIn, runCli, type CliResult } from "./cli-run.js";
import { testSignal, writeTinyModelDir } from "./tiny-model.js";
import { makeAudioFolder } from "./audio-folder.js";
import { modelIdOf, readCodecConfig } from "../src/model/load.js";
import { LC_NNLS_ITERATIONS, LC_PHASE_ITERATIONS } from "../src/model/pipeline.js";
import { TRUE_MEL_PROJECTION } from "../src/model/refiner-host.js";


let dir: string;
let model: string;

const flowmac = (...args: string[]) => runCli(dir, ...args);
const expectCleanFailure = (r: CliResult, pattern: RegExp, output?: string) => expectCleanFailureIn(dir, r, pattern, output);

beforeAll(async () => {
  await initJax();
  dir = mkdtempSync(join(tmpdir(), "flowmac-cli-"));
  model = await writeTinyModelDir(join(dir, "model"));
  writeFileSync(join(dir, "ok.wav"), encodeWav([testSignal(1.2, 16000)], 16000, "pcm16"));
});

describe("flowmac CLI on bad input", () => {
  const wav = (name: string, bytes: Uint8Array) => {
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };

  it("missing file, empty file, non-audio file, directory", () => {
    const out = join(dir, "x.npy");
    expectCleanFailure(flowmac("mel", join(dir, "nope.wav"), "-o", out), /nope\.wav: no such file/, out);
    expectCleanFailure(flowmac("mel", wav("empty.wav", new Uint8Array(0)), "-o", out), /empty\.wav: file is empty/, out);
    expectCleanFailure(flowmac("mel", wav("text.wav", new TextEncoder().encode("just some text, not audio at all")), "-o", out), /text\.wav: not a supported audio file/, out);
    expectCleanFailure(flowmac("mel", dir, "-o", out), /is a directory/, out);
  });

  it("truncated and lying WAV headers, unsupported codec", () => {
    const good = encodeWav([testSignal(0.5)], 24000, "pcm16");
    const out = join(dir, "y.npy");
    expectCleanFailure(flowmac("mel", wav("trunc.wav", good.subarray(0, 1000)), "-o", out), /trunc\.wav: invalid WAV file \(header declares \d+ bytes of audio but only \d+ are present/, out);
    const lying = Uint8Array.from(good);
    new DataView(lying.buffer).setUint16(32, 7, true); // block align
    expectCleanFailure(flowmac("mel", wav("lying.wav", lying), "-o", out), /lying\.wav: invalid WAV file \(block align 7/, out);
    const adpcm = Uint8Array.from(good);
    new DataView(adpcm.buffer).setUint16(20, 0x11, true); // IMA ADPCM
    expectCleanFailure(flowmac("mel", wav("adpcm.wav", adpcm), "-o", out), /adpcm\.wav: invalid WAV file \(unsupported encoding \(format tag 17\)/, out);
  });

  it("zero-length, all-silent and NaN signals", () => {
    const out = join(dir, "z.npy");
    expectCleanFailure(flowmac("mel", wav("zero.wav", encodeWav([new Float32Array(0)], 24000)), "-o", out), /zero\.wav: contains no samples/, out);
    expectCleanFailure(flowmac("mel", wav("silent.wav", encodeWav([new Float32Array(4800)], 24000)), "-o", out), /silent\.wav: signal is all zeros/, out);
    const nan = new Float32Array(4800).fill(0.1);
    nan[100] = NaN;
    expectCleanFailure(flowmac("mel", wav("nan.wav", encodeWav([nan], 24000, "float32")), "-o", out), /nan\.wav: sample 100 is NaN/, out);
  });

  it("encode (which streams its input) refuses the same bad audio, leaving no .fmac", () => {
    const out = join(dir, "bad.fmac");
    const good = encodeWav([testSignal(0.5)], 24000, "pcm16");
    const nan = new Float32Array(4800).fill(0.1);
    nan[100] = NaN;
    const enc = (path: string) => flowmac("encode", path, "-o", out, "--model", model);
    expectCleanFailure(enc(wav("trunc.wav", good.subarray(0, 1000))), /trunc\.wav: invalid WAV file \(header declares/, out);
    expectCleanFailure(enc(wav("silent.wav", encodeWav([new Float32Array(4800)], 24000))), /silent\.wav: signal is all zeros/, out);
    expectCleanFailure(enc(wav("nan.wav", encodeWav([nan], 24000, "float32"))), /nan\.wav: sample 100 is NaN/, out);
    expectCleanFailure(enc(wav("zero.wav", encodeWav([new Float32Array(0)], 24000))), /zero\.wav: contains no samples/, out);
    expectCleanFailure(enc(wav("text.wav", new TextEncoder().encode("just some text, not audio at all"))), /text\.wav: not a supported audio file/, out);
    expectCleanFailure(enc(join(dir, "nope.wav")), /nope\.wav: no such file/, out);
    const flac = readFileSync(fileURLToPath(new URL("./fixtures/audio/sweep-16k-mono.flac", import.meta.url)));
    expectCleanFailure(enc(wav("cut.flac", flac.subarray(0, flac.length >> 1))), /cut\.flac: file ended early or is damaged \(its header states 24000 samples/, out);
  });

  it("silly flags", () => {
    const ok = join(dir, "ok.wav");
    const out = join(dir, "o.wav");
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--steps", "-1"), /--steps must be an integer from 0/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--kbps", "2"), /--kbps/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--engine", "gpu"), /--engine must be one of onnx, jax/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", join(dir, "o.mp3"), "--model", model), /must end in \.wav/);
    expectCleanFailure(flowmac("decode", ok, "-o", out, "--model", model, "--lc", "--steps", "4"), /--lc decodes the prior mel, with no flow steps/, out);
    expectCleanFailure(flowmac("decode", ok, "-o", out, "--model", model, "--lc", "--temperature", "0.5"), /--lc decodes the prior mel/, out);
    // The tiny model's vocoder is a Vocos: it has no phase iterations to set.
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--phase-iterations", "4"), /--phase-iterations sets the iterations of a refiner vocoder's phase; this model's vocoder is vocos/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--vocoder", "pghi", "--phase-iterations", "4"), /--vocoder pghi takes them in its name/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--nnls-iterations", "20"), /--nnls-iterations sets the iterations of a refiner vocoder's magnitude prior; this model's vocoder is vocos/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--nnls-iterations", "0"), /--nnls-iterations/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--mel-projection", "5"), /--mel-projection sets the iterations of a refiner vocoder's mel projection; this model's vocoder is vocos/, out);
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", model, "--mel-projection", "-1"), /--mel-projection/, out);
    expect(flowmac("frobnicate").code).not.toBe(0);
  });

  it("bit rates: --kbps and --stages are one choice (both is an error), ranges are the loaded model's", () => {
    const ok = join(dir, "ok.wav");
    const out = join(dir, "r.fmac");
    // The tiny model: 4 stages of 64-entry codebooks, 46.875 x 6 = 281.25 bit/s each.
    const both = flowmac("encode", ok, "-o", out, "--model", model, "--kbps", "0.5625", "--stages", "2");
    expectCleanFailure(both, /^flowmac: --kbps 0\.5625 and --stages 2 both set the bit rate: give one of them$/m, out);
    expect(both.code).toBe(1);
    const rates = "0\\.28125 to 1\\.125 kbit/s in steps of 0\\.28125 \\(1 to 4 RVQ stages\\)";
    expectCleanFailure(flowmac("encode", ok, "-o", out, "--model", model, "--kbps", "1.5"), new RegExp(`--kbps 1\\.5: this model codes ${rates}`), out);
    expectCleanFailure(flowmac("encode", ok, "-o", out, "--model", model, "--kbps", "0.4", "--no-allocate"), new RegExp(`--kbps 0\\.4: this model codes ${rates}`), out);
    expectCleanFailure(flowmac("encode", ok, "-o", out, "--model", model, "--stages", "5"), /--stages 5: this model has 1 to 4 RVQ stages \(0\.28125 kbit\/s each\)/, out);
    expectCleanFailure(flowmac("encode", ok, "-o", out, "--model", model, "--stages", "0"), /--stages must be a positive integer, got '0'/, out);
    expectCleanFailure(flowmac("encode", ok, "-o", out, "--model", model, "--kbps", "-3"), /--kbps must be a positive number, got '-3'/, out);
    const two = flowmac("encode", ok, "-o", out, "--model", model, "--kbps", "0.5625", "--no-allocate");
    expect(two.code).toBe(0);
    expect(two.out).toMatch(/r\.fmac: \d+ bytes, 2 stages, 0\.\d{3} kbit\/s/);
    expect(readFmac(new Uint8Array(readFileSync(out))).frameStages).toBeUndefined();
    const one = flowmac("encode", ok, "-o", out, "--model", model, "--stages", "1");
    expect(one.out).toMatch(/r\.fmac: \d+ bytes, 1 stage, /);
    // Allocated (the default), any rate within the model's range: stages spent where they remove the most error.
    const between = flowmac("encode", ok, "-o", out, "--model", model, "--kbps", "0.4");
    expect(between.code).toBe(0);
    expect(between.out).toMatch(/r\.fmac: \d+ bytes, 1\.\d\d stages a frame on average \(allocated, 1 to [2-4]\), /);
    const allocated = readFmac(new Uint8Array(readFileSync(out)));
    expect(allocated.frameStages!.reduce((a, b) => a + b, 0) * 6).toBeLessThanOrEqual(Math.floor((0.4 * 1000 * allocated.frames) / 46.875));
    // Help: the rules, and the bundled model's rates and default, read from its config; no fixed list of rates.
    const rvq = readCodecConfig(fileURLToPath(new URL("../models/default/", import.meta.url)))!.rvq;
    const top = (rvq.stages * 46.875 * Math.log2(rvq.codebookSize)) / 1000;
    const bundled = new RegExp(`bundled model: 0\\.375 to ${String(top).replace(".", "\\.")} kbit/s in steps of 0\\.375 \\(1 to ${rvq.stages} RVQ stages\\), and any --kbps in between with allocation \\(the default\\); the default is (3 kbit/s \\(8 of ${rvq.stages} stages\\)|all ${rvq.stages} stages)`);
    const help = flowmac("encode", "--help").out;
    expect(help).toMatch(/--kbps <rate>[^]*not with\s+--stages/);
    expect(help).toMatch(/--stages <n>[^]*not with\s+--kbps/);
    expect(help).toMatch(bundled);
    expect(flowmac("roundtrip", "--help").out).toMatch(bundled);
    const topHelp = flowmac("--help").out;
    expect(topHelp).toMatch(bundled);
    for (const h of [help, topHelp]) expect(h).not.toMatch(/1\.5-6|1\.5 or 3/);
  });

  it("the bundled model codes 6 kbit/s out of the box (all 16 stages) and 3 kbit/s by default", () => {
    const ok = join(dir, "ok.wav");
    const six = join(dir, "six.fmac");
    const enc6 = flowmac("encode", ok, "-o", six, "--kbps", "6");
    expect(enc6.code).toBe(0);
    expect(enc6.out).toMatch(/six\.fmac: \d+ bytes, 16 stages, /);
    expect(readFmac(new Uint8Array(readFileSync(six))).stages).toBe(16);
    const dflt = flowmac("encode", ok, "-o", join(dir, "three.fmac"));
    // 3 kbit/s: 8 stages' bits a frame, allocated and entropy-coded, so more than 8 stages on average.
    const mean = /three\.fmac: \d+ bytes, (\d+\.\d\d) stages a frame on average \(allocated, \d+ to \d+\), /.exec(dflt.out);
    expect(mean, dflt.out).not.toBeNull();
    expect(Number(mean![1])).toBeGreaterThan(8);
    expect(readFileSync(join(dir, "three.fmac"))[4]).toBe(3);
    const dec = flowmac("decode", six, "-o", join(dir, "six.wav"));
    expect(dec.code).toBe(0);
    expect(statSync(join(dir, "six.wav")).size).toBeGreaterThan(44);
  }, 120_000);

  it("a clip under a second reports that its bit rate is the header's, not a number", () => {
    const tiny = join(dir, "one-sample.wav");
    writeFileSync(tiny, encodeWav([Float32Array.of(0.25)], 24000, "pcm16"));
    const enc = flowmac("encode", tiny, "-o", join(dir, "one.fmac"), "--model", model);
    expect(enc.code).toBe(0);
    expect(enc.out).toMatch(/one\.fmac: \d+ bytes, 4 stages, 0\.00 s: too short for a meaningful bit rate \(the 40-byte header and CRC dominate\)/);
    const rt = flowmac("roundtrip", tiny, "-o", join(dir, "one.wav"), "--model", model, "--lc");
    expect(rt.code).toBe(0);
    expect(rt.out).toMatch(/one\.wav: 0\.00 s, 4 stages: too short for a meaningful bit rate or speed/);
    expect(enc.out + rt.out).not.toMatch(/kbit\/s,|\dx/);
  });

  it("help piped into a reader that stops early (| head) ends quietly", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${BIN}" --help | head -1`], { encoding: "utf8" });
    expect(r.stdout).toMatch(/^Usage: flowmac/);
    expect(r.stderr).toBe("");
  });

  it("wrong model files: missing, not safetensors, swapped codec and vocoder", () => {
    const ok = join(dir, "ok.wav");
    const out = join(dir, "m.wav");
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", join(dir, "nomodel")), /not a model directory/, out);
    const bad = join(dir, "badmodel");
    spawnSync("mkdir", ["-p", bad]);
    writeFileSync(join(bad, "codec.safetensors"), "garbage");
    writeFileSync(join(bad, "vocoder.safetensors"), readFileSync(join(model, "vocoder.safetensors")));
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", bad), /codec\.safetensors: not a valid safetensors file/, out);
    writeFileSync(join(bad, "codec.safetensors"), readFileSync(join(model, "vocoder.safetensors")));
    expectCleanFailure(flowmac("roundtrip", ok, "-o", out, "--model", bad), /holds a 'vocoder' model, expected 'codec'/, out);
  });
});

describe("flowmac CLI round trip with a (tiny, untrained) model", () => {
  it("encode -> decode through a file; corrupt, truncated, foreign and other-model .fmac are refused", () => {
    const ok = join(dir, "ok.wav");
    const fmac = join(dir, "ok.fmac");
    const enc = flowmac("encode", ok, "-o", fmac, "--model", model, "--stages", "2");
    expect(enc.err).toBe("");
    expect(enc.code).toBe(0);
    const dec = flowmac("decode", fmac, "-o", join(dir, "dec.wav"), "--model", model, "--lc");
    expect(dec.code).toBe(0);
    expect(readFileSync(join(dir, "dec.wav")).length).toBe(44 + 2 * 28800); // 1.2 s at 24 kHz, 16-bit
    const bytes = readFileSync(fmac);
    const bad = (name: string, b: Uint8Array, re: RegExp) => {
      const out = join(dir, `${name}.wav`);
      writeFileSync(join(dir, `${name}.fmac`), b);
      expectCleanFailure(flowmac("decode", join(dir, `${name}.fmac`), "-o", out, "--model", model), re, out);
    };
    const flipped = Uint8Array.from(bytes);
    flipped[40] ^= 0x20;
    bad("corrupt", flipped, /corrupt\.fmac: corrupt \.fmac file \(CRC mismatch\)/);
    bad("short", bytes.subarray(0, bytes.length - 3), /short\.fmac: truncated/);
    bad("foreign", readFileSync(ok), /foreign\.fmac: not a \.fmac file/);
    const other = Uint8Array.from(bytes);
    other[8] ^= 0xff; // another model id (and so a CRC that no longer matches: fix it up)
    new DataView(other.buffer).setUint32(other.length - 4, crc32(other.subarray(0, other.length - 4)), true);
    bad("othermodel", other, /othermodel\.fmac: made by a different model/);
  });

  it("forged streams with a valid CRC (bits per index, indices, stages beyond the model) are refused alike by both engines, before either runs", () => {
    const fmac = join(dir, "forge-src.fmac");
    expect(flowmac("encode", join(dir, "ok.wav"), "-o", fmac, "--model", model, "--stages", "2").code).toBe(0);
    const s = readFmac(new Uint8Array(readFileSync(fmac)));
    const forge = (name: string, f: FmacStream) => {
      writeFileSync(join(dir, name), writeFmac(f));
      return join(dir, name);
    };
    // The tiny model's codebooks have 64 entries (6 bits).
    const wide = forge("wide.fmac", { ...s, bitsPerIndex: 16, codes: s.codes.map((c, i) => (i % 5 === 0 ? 64 + 7 * c : c)) });
    const wideSmall = forge("wide-small.fmac", { ...s, bitsPerIndex: 16 });
    const narrow = forge("narrow.fmac", { ...s, bitsPerIndex: 5, codes: s.codes.map((c) => c % 32) });
    const deep = forge("deep.fmac", { ...s, stages: 5, codes: new Uint16Array(s.frames * 5) });
    for (const [path, re] of [
      [wide, /wide\.fmac: corrupt \.fmac header \(16 bits per index; the model's codebooks have 64 entries, 6 bits\)/],
      [wideSmall, /wide-small\.fmac: corrupt \.fmac header \(16 bits per index/],
      [narrow, /narrow\.fmac: corrupt \.fmac header \(5 bits per index/],
      [deep, /deep\.fmac: has 5 RVQ stages but the model has 4/],
    ] as const) {
      const out = join(dir, "forged.wav");
      const onnx = flowmac("decode", path, "-o", out, "--model", model, "--lc");
      const jax = flowmac("decode", path, "-o", out, "--model", model, "--lc", "--engine", "jax");
      expectCleanFailure(onnx, re, out);
      expect(onnx.code).toBe(1);
      expect(jax).toEqual(onnx);
    }
  });

  it("onnxruntime's own log lines reach the terminal only with --verbose", () => {
    // An index beyond the codebook, past every check: onnxruntime fails and would log the failure itself.
    const script = (verbose: boolean) => `
      import "core-js/actual/iterator/index.js";
      const { openEngine } = await import(${JSON.stringify(new URL("../dist/src/model/open.js", import.meta.url).href)});
      const e = await openEngine(${JSON.stringify(model)}, "onnx", { verbose: ${verbose} });
      const S = e.info.codec.rvq.stages;
      try { await e.prior(new Int32Array(S * 320).fill(999), new Float32Array(S * 320).fill(1), 320, new Float32Array(320).fill(1)); } catch (err) { console.log("refused"); }`;
    const run = (verbose: boolean) => spawnSync(process.execPath, ["--input-type=module", "-e", script(verbose)], { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)), env: { ...process.env, FLOWMAC_CACHE: join(dir, "cache") } });
    const quiet = run(false);
    expect(quiet.stdout.trim()).toBe("refused");
    expect(quiet.stderr).toBe("");
    const loud = run(true);
    expect(loud.stdout.trim()).toBe("refused");
    expect(loud.stderr).toMatch(/onnxruntime/);
  });

  it("decodes with noise temperature 0.7 unless --temperature says otherwise; --lc is the prior mel, as the default decoder with a Vocos", () => {
    const fmac = join(dir, "t.fmac");
    expect(flowmac("encode", join(dir, "ok.wav"), "-o", fmac, "--model", model).code).toBe(0);
    const decode = (name: string, ...flags: string[]) => {
      expect(flowmac("decode", fmac, "-o", join(dir, name), "--model", model, "--steps", "2", ...flags).code).toBe(0);
      return readFileSync(join(dir, name));
    };
    const lc = (name: string, ...flags: string[]) => {
      expect(flowmac("decode", fmac, "-o", join(dir, name), "--model", model, "--lc", ...flags).code).toBe(0);
      return readFileSync(join(dir, name));
    };
    const prior = (name: string) => {
      expect(flowmac("decode", fmac, "-o", join(dir, name), "--model", model).code).toBe(0);
      return readFileSync(join(dir, name));
    };
    // LC changes only a refiner's phase iterations: with this Vocos it is the default decode.
    expect(lc("lc.wav").equals(prior("prior.wav"))).toBe(true);
    // The paper's one-step LC: the half temperature is its preset's, and the noise matters.
    expect(flowmac("decode", fmac, "-o", join(dir, "paper-lc.wav"), "--model", model, "--steps", "1", "--guidance", "0", "--temperature", "0.5").code).toBe(0);
    expect(readFileSync(join(dir, "paper-lc.wav")).equals(prior("prior2.wav"))).toBe(false);
    const plain = decode("d.wav");
    expect(plain.equals(decode("d-07.wav", "--temperature", "0.7"))).toBe(true);
    expect(plain.equals(decode("d-one.wav", "--temperature", "1"))).toBe(false);
  });

  it("with a refiner vocoder, --lc is LC_NNLS_ITERATIONS of NNLS and PGHI with LC_PHASE_ITERATIONS FGLA iterations, not the default 40 and 16", async () => {
    const refinerModel = await writeTinyModelDir(join(dir, "refiner-model"), 8, "refiner-tiny");
    const fmac = join(dir, "r.fmac");
    expect(flowmac("encode", join(dir, "ok.wav"), "-o", fmac, "--model", refinerModel).code).toBe(0);
    const decode = (name: string, ...flags: string[]) => {
      expect(flowmac("decode", fmac, "-o", join(dir, name), "--model", refinerModel, ...flags).code).toBe(0);
      return readFileSync(join(dir, name));
    };
    const lc = decode("r-lc.wav", "--lc");
    expect(lc.equals(decode("r-i2.wav", "--phase-iterations", String(LC_PHASE_ITERATIONS), "--nnls-iterations", String(LC_NNLS_ITERATIONS)))).toBe(true);
    expect(lc.equals(decode("r-i2-n40.wav", "--phase-iterations", String(LC_PHASE_ITERATIONS)))).toBe(false);
    expect(lc.equals(decode("r-i0.wav", "--phase-iterations", "0"))).toBe(false);
    expect(lc.equals(decode("r-default.wav"))).toBe(false);
    // Mel projection: off by default in decode, on by default in resynth (the true mel), and a real change.
    expect(decode("r-p0.wav", "--mel-projection", "0").equals(decode("r-default2.wav"))).toBe(true);
    expect(decode("r-p5.wav", "--mel-projection", "5").equals(decode("r-default3.wav"))).toBe(false);
    const resynth = (name: string, ...flags: string[]) => {
      expect(flowmac("resynth", join(dir, "ok.wav"), "-o", join(dir, name), "--model", refinerModel, ...flags).code).toBe(0);
      return readFileSync(join(dir, name));
    };
    const byDefault = resynth("rs.wav");
    expect(byDefault.equals(resynth("rs-p.wav", "--mel-projection", String(TRUE_MEL_PROJECTION)))).toBe(true);
    expect(byDefault.equals(resynth("rs-p0.wav", "--mel-projection", "0"))).toBe(false);
    const out = join(dir, "rs-bad.wav");
    expectCleanFailure(flowmac("resynth", join(dir, "ok.wav"), "-o", out, "--model", refinerModel, "--vocoder", "fgla", "--mel-projection", "3"), /--mel-projection sets the iterations of a refiner vocoder's mel projection; --vocoder fgla:64 has none/, out);
  });

  it("decodes the prior mel by default (--steps 0); flow flags without --steps are refused", () => {
    const fmac = join(dir, "p.fmac");
    expect(flowmac("encode", join(dir, "ok.wav"), "-o", fmac, "--model", model).code).toBe(0);
    const decode = (name: string, ...flags: string[]) => {
      expect(flowmac("decode", fmac, "-o", join(dir, name), "--model", model, ...flags).code).toBe(0);
      return readFileSync(join(dir, name));
    };
    const byDefault = decode("p-default.wav");
    expect(byDefault.equals(decode("p-0.wav", "--steps", "0"))).toBe(true);
    expect(byDefault.equals(decode("p-2.wav", "--steps", "2"))).toBe(false);
    const out = join(dir, "p-bad.wav");
    expectCleanFailure(flowmac("decode", fmac, "-o", out, "--model", model, "--guidance", "2"), /--guidance and --temperature shape the flow decoder/, out);
  });
});

describe("training on a folder of own audio", () => {
  let folder: string;
  const run = () => join(dir, "own-run");
  const logOf = (out: string) => readFileSync(join(out, "log.jsonl"), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));

  beforeAll(() => {
    folder = makeAudioFolder(join(dir, "own")).dir;
  });

  it("train codec decodes a nested folder of WAV, FLAC, MP3 and Ogg once, skipping what does not decode or is too short", () => {
    const r = flowmac("train", "codec", "--data", folder, "--config", "tiny", "--out", run(), "--steps", "2", "--val-every", "2");
    expect(r.err).toMatch(/^skipped music\/broken\.mp3: not a supported audio file/m);
    expect(r.err).toMatch(/^skipped short\.wav: too short \(0\.20 s < 0\.4 s\)$/m);
    expect(r.err).toMatch(/^data cache: decoded .* \(4 files, 6\.6 s, 2 skipped\)/m);
    expect(r.err).toMatch(/^train: 3 files, .*; validation: 1 file, /m);
    expect(r.code).toBe(0);
    const log = logOf(run());
    expect(log.filter((l) => !l.event).map((l) => l.step)).toEqual([1, 2]); // step 1 is always logged, then validation at step 2
    expect(log.find((l) => "val_prior" in l)?.val_prior).toBeGreaterThan(0);
    expect(existsSync(join(run(), "stats.json"))).toBe(true);
  });

  it("train vocoder on the same run directory reuses the cache", () => {
    const index = join(run(), "data-cache", "index.json");
    const mtime = statSync(join(run(), "data-cache", "audio.f32")).mtimeMs;
    const r = flowmac("train", "vocoder", "--data", folder, "--config", "vocos-tiny", "--out", run(), "--steps", "2");
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^data cache: reused .* \(4 files, 6\.6 s, 2 skipped\)$/m);
    expect(statSync(join(run(), "data-cache", "audio.f32")).mtimeMs).toBe(mtime);
    expect(existsSync(index)).toBe(true);
    expect(logOf(run()).at(-1).step).toBe(2);
  });

  it("train vocoder: a refiner on the onnx engine, resumed without --config (the run keeps its config); GAN vocoders refuse onnx", () => {
    const out = join(dir, "refiner-run");
    const first = flowmac("train", "vocoder", "--data", folder, "--config", "refiner-tiny", "--engine", "onnx", "--out", out, "--steps", "2", "--ckpt-every", "2");
    expect(first.code).toBe(0);
    const again = flowmac("train", "vocoder", "--data", folder, "--engine", "onnx", "--out", out, "--steps", "3", "--resume", join(out, "checkpoint.safetensors"));
    expect(again.err).toMatch(/training vocoder \(refiner-tiny\) on the onnx engine/);
    expect(again.code).toBe(0);
    expect(logOf(out).at(-1).step).toBe(3);
    expectCleanFailure(flowmac("train", "vocoder", "--data", folder, "--config", "vocos-tiny", "--engine", "onnx", "--out", join(dir, "gan-onnx")), /--engine onnx trains refiners only/);
  });

  it("stats reads the same folder, noting the file it skips", () => {
    const r = flowmac("stats", folder, "-o", join(dir, "own-stats.json"));
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^skipped .*broken\.mp3: not a supported audio file/);
    expect(r.out).toMatch(/from 5 files \(1 skipped\)/);
  });

  it("an empty folder is a one-line error", () => {
    mkdirSync(join(dir, "empty-audio"));
    expectCleanFailure(flowmac("train", "codec", "--data", join(dir, "empty-audio"), "--config", "tiny", "--out", join(dir, "empty-run")), /no audio files found in .*empty-audio/);
    expectCleanFailure(flowmac("stats", join(dir, "empty-audio"), "-o", join(dir, "e.json")), /no audio files found/, join(dir, "e.json"));
  });

  it("--init fine-tunes a model; bitstreams of the fine-tuned model carry its own model id", async () => {
    const out = join(dir, "ft-run");
    const r = flowmac("train", "codec", "--data", folder, "--init", model, "--out", out, "--steps", "1");
    expect(r.code).toBe(0);
    expect(logOf(out).find((l) => l.event === "init")).toMatchObject({ event: "init", from: join(model, "codec.safetensors") });
    const { parseSafeTensors } = await import("../src/util/safetensors.js");
    const shipped = parseSafeTensors(new Uint8Array(readFileSync(join(model, "codec.safetensors")))).metadata.mel_stats;
    expect(JSON.parse(readFileSync(join(out, "stats.json"), "utf8"))).toEqual(JSON.parse(shipped));
    const tuned = join(dir, "ft-model");
    mkdirSync(tuned);
    copyFileSync(join(out, "weights.safetensors"), join(tuned, "codec.safetensors"));
    copyFileSync(join(model, "vocoder.safetensors"), join(tuned, "vocoder.safetensors"));
    const fmac = join(dir, "ft.fmac");
    expect(flowmac("encode", join(dir, "ok.wav"), "-o", fmac, "--model", tuned).code).toBe(0);
    const id = readFmac(new Uint8Array(readFileSync(fmac))).modelId;
    expect(id).toBe(await modelIdOf(new Uint8Array(readFileSync(join(tuned, "codec.safetensors")))));
    expect(id).not.toBe(await modelIdOf(new Uint8Array(readFileSync(join(model, "codec.safetensors")))));
  });

  it("--init alone or 'default' is the bundled model; conflicting flags are one-line errors", () => {
    const out = join(dir, "bad-init");
    const bundled = readCodecConfig(fileURLToPath(new URL("../models/default/", import.meta.url)))!.name; // the shipped model's config, whatever ships
    for (const init of [[], ["default"]])
      expectCleanFailure(flowmac("train", "codec", "--data", folder, "--out", out, "--config", "tiny", "--init", ...init), new RegExp(`--config tiny does not match the --init model, whose config is '${bundled}'`));
    expectCleanFailure(flowmac("train", "vocoder", "--data", folder, "--out", out, "--init", join(dir, "nomodel")), /nomodel: no such model directory or weights file/);
    expectCleanFailure(flowmac("train", "codec", "--data", folder, "--out", out, "--init", model, "--resume", join(out, "checkpoint.safetensors")), /--init and --resume exclude each other/);
    expectCleanFailure(flowmac("train", "codec", "--data", folder, "--out", out, "--init", model, "--stats", join(dir, "own-stats.json")), /--stats and --init exclude each other/);
  });
});

describe("the npm package", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  it("imports by its name (package.json exports) and its declared types exist", () => {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", 'const m = await import("flowmac"); console.log(typeof m.encodeAudio, typeof m.decodeAudio, typeof m.loadModel)'], { cwd: root, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("function function function");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    for (const entry of [".", "./web"]) for (const path of [pkg.exports[entry].types, pkg.exports[entry].import]) expect(existsSync(join(root, path)), path).toBe(true);
    for (const path of [pkg.main, pkg.types]) expect(existsSync(join(root, path)), path).toBe(true);
    // The browser entry point loads without jax-js or Node built-ins being needed by its API.
    const web = spawnSync(process.execPath, ["--input-type=module", "-e", 'const m = await import("flowmac/web"); console.log(typeof m.openWebEngine, typeof m.encodeAudio)'], { cwd: root, encoding: "utf8" });
    expect(web.stdout.trim()).toBe("function function");
  });
});
