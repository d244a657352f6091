/**
 * What the fuzzer mutates and decodes with: a tiny random model directory (as
 * the CLI tests use), valid .fmac files of short signals at every stage count,
 * (versions 1 to 3), and valid WAV (pcm16, float32) and FLAC files of short signals.
 */
import { encodeStream } from "../../src/model/encode-stream.js";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { encodeWav } from "../../src/audio/wav.js";
import { codeModelOf, fitCodeModel, withCodeTables } from "../../src/bitstream/code-model.js";
import { writeFmac } from "../../src/bitstream/fmac.js";
import type { InferenceEngine } from "../../src/model/engine.js";
import { openEngine } from "../../src/model/open.js";
import { encodeAudio } from "../../src/model/pipeline.js";
import { testSignal, writeTinyModelDir } from "../../test/tiny-model.js";
import type { AudioBase } from "./audio-mutants.js";
import { fmacBase, type FmacBase } from "./fmac-mutants.js";

export interface Fixtures {
  modelDir: string;
  engines: InferenceEngine[];
  fmacBases: FmacBase[];
  audioBases: AudioBase[];
}

/**
 * Code tables for the tiny model, fitted on its own codes of test signals (every stage, however
 * little it pays), so that its allocated streams are entropy-coded (version 3) and fuzzed as such.
 */
async function addCodeTables(modelDir: string): Promise<void> {
  const engine = await openEngine(modelDir, "onnx");
  const { stages, codebookSize } = engine.info.codec.rvq;
  const codes = await Promise.all([1.5, 2, 2.5].map(async (seconds) => (await encodeAudio(engine, testSignal(seconds), undefined, { stages })).codes));
  engine.dispose();
  const model = fitCodeModel(codes, stages, codebookSize, { minSaving: -Infinity });
  const path = join(modelDir, "codec.safetensors");
  writeFileSync(path, withCodeTables(new Uint8Array(readFileSync(path)), model));
}

/** Valid streams of a 0.5 s and a 0.9 s signal, with 1 to all of the model's stages, and rate-allocated (version 2). */
async function fmacBases(engine: InferenceEngine): Promise<FmacBase[]> {
  const out: FmacBase[] = [];
  for (const seconds of [0.5, 0.9]) {
    const x = testSignal(seconds);
    const enc = await encodeAudio(engine, x);
    for (let k = 1; k <= enc.stages; k++) {
      const codes = new Uint16Array(enc.frames * k);
      for (let t = 0; t < enc.frames; t++) for (let s = 0; s < k; s++) codes[t * k + s] = enc.codes[t * enc.stages + s];
      const bytes = writeFmac({ modelId: engine.info.modelId, sampleRate: 24000, stages: k, bitsPerIndex: Math.log2(engine.info.codec.rvq.codebookSize), length: x.length, frames: enc.frames, codes });
      out.push(fmacBase(bytes));
    }
    if (enc.stages > 2) {
      const rate = { stages: enc.stages / 2 + 0.3, allocate: true };
      out.push(fmacBase(writeFmac(await encodeStream(engine, x, { ...rate, entropy: false }))));
      out.push(fmacBase(writeFmac(await encodeStream(engine, x, rate)), codeModelOf(engine.info)));
    }
  }
  return out;
}

/** WAV files written here, FLAC files by sox (what other encoders write, metadata blocks included). */
function audioBases(dir: string): AudioBase[] {
  const stereo = (x: Float32Array) => [x, x.map((v) => -0.5 * v)];
  const wav16 = encodeWav([testSignal(0.4, 16000)], 16000, "pcm16");
  const wavF32 = encodeWav(stereo(testSignal(0.3, 24000)), 24000, "float32");
  const flac = (name: string, wav: Uint8Array, sox: string[]): AudioBase => {
    const src = join(dir, `${name}.wav`);
    const dst = join(dir, `${name}.flac`);
    writeFileSync(src, wav);
    execFileSync("sox", [src, ...sox, dst]);
    return { name: `${name}.flac`, format: "flac", bytes: new Uint8Array(readFileSync(dst)) };
  };
  return [
    { name: "pcm16-16k-mono.wav", format: "wav", bytes: wav16 },
    { name: "float32-24k-stereo.wav", format: "wav", bytes: wavF32 },
    flac("flac16-16k-mono", wav16, ["-b", "16"]),
    flac("flac24-24k-stereo", encodeWav(stereo(testSignal(0.3, 24000)), 24000, "pcm16"), ["-b", "24"]),
  ];
}

/** Builds everything inside `dir`; the ONNX export is cached there too (FLOWMAC_CACHE), for the CLI runs as well. */
export async function makeFixtures(dir: string): Promise<Fixtures> {
  process.env.FLOWMAC_CACHE = join(dir, "cache");
  const modelDir = await writeTinyModelDir(join(dir, "model"));
  await addCodeTables(modelDir);
  const engines = [await openEngine(modelDir, "onnx"), await openEngine(modelDir, "jax")];
  return { modelDir, engines, fmacBases: await fmacBases(engines[0]), audioBases: audioBases(dir) };
}
