/**
 * `npm run bench`: speed of the front end, the neural core, the vocoders and
 * the codec (jax-js reference engine vs onnxruntime), on one core. Figures are
 * best-of-n wall times on this machine; compare ratios measured in one run.
 * Options: --quick (fewer, shorter runs), --only <section> (mel, nn, train, vocoder, codec),
 * --model <dir> (the codec section's model, default the bundled one: e.g. a 16-stage model for 6 kbit/s).
 */
import "core-js/actual/iterator/index.js";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MelFrontEnd } from "../src/audio/mel.js";
import { hasRelaxedSimd, initJax, jit, np, tree } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";
import { countParams } from "../src/nn/params.js";
import { CODEC_CONFIGS, FRAME_RATE } from "../src/model/config.js";
import { initCodec } from "../src/model/codec.js";
import { VOCODER_CONFIGS, generate, initGenerator } from "../src/model/vocoder.js";
import { createPhaseVocoder, parseVocoder } from "../src/model/phase-vocoder.js";
import { melInverse, NNLS_ITERATIONS } from "../src/audio/mel-inverse.js";
import { FrameGrid, fastGriffinLim } from "../src/audio/griffin-lim.js";
import { pghiPhase } from "../src/audio/pghi.js";
import { loadFastFft } from "../src/audio/fft.js";
import { FLOWMAC_MEL } from "../src/audio/mel.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";
import { DEFAULT_MODEL_DIR, loadModel, readModelDir, type LoadedModel } from "../src/model/load.js";
import type { InferenceEngine } from "../src/model/engine.js";
import { decodeAudio, decodeMel, encodeAudio, BLOCK, LC_NNLS_ITERATIONS, LC_PHASE_ITERATIONS } from "../src/model/pipeline.js";
import { allocates, encodeStream } from "../src/model/encode-stream.js";
import { blockJoinStats } from "../src/eval/joins.js";
import { defaultStages } from "../src/cli/bitrate.js";
import { DEFAULT_BEAM } from "../src/model/rvq-search.js";
import { benchNn } from "./nn.js";
import { bestOf, printRows, SR, speech, type BenchRow } from "./util.js";
import * as ort from "onnxruntime-node";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
/** Timed runs of the fast codec measurements (encode, LC decode); the best counts. */
const REPEATS = quick ? 3 : 10;
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : null;
const want = (s: string) => !only || only === s;
const modelDir = args.includes("--model") ? args[args.indexOf("--model") + 1] : null;
async function benchMel(): Promise<BenchRow[]> {
  const secs = quick ? 10 : 60;
  const x = speech(secs);
  const rows: BenchRow[] = [];
  for (const [label, fe] of [
    ["fft.js, float64", new MelFrontEnd()],
    ["PFFFT wasm SIMD: the codec's encoder", await MelFrontEnd.fast()],
  ] as const) {
    const ms = bestOf(() => fe.compute(x), quick ? 2 : 3);
    rows.push({ name: `log-mel front end, ${label} (${secs} s of 24 kHz audio)`, value: secs / (ms / 1000), unit: "x real time", ms });
  }
  return rows;
}

function benchVocoders(): BenchRow[] {
  const rows: BenchRow[] = [];
  for (const name of ["vocos-small", "bigvgan-small", "vocos-paper", "bigvgan-paper"]) {
    if (quick && name.endsWith("paper")) continue;
    // BigVGAN's audio-rate activations exceed jax-js's 4 GiB wasm memory on long inputs.
    const frames = name.startsWith("bigvgan") ? 32 : 235;
    const c = VOCODER_CONFIGS[name];
    const g = initGenerator(new Rng(0), c);
    const f = jit((p: any, m: any) => generate(p, c, m));
    const mel = np.array(new Rng(1).normalArray(frames * 128).map((v) => v - 5)).reshape([1, frames, 128]);
    const ms = bestOf(() => f(tree.ref(g), mel.ref).dataSync(), 1);
    rows.push({ name: `${name} generator, jax-js, ${((frames * 512) / SR).toFixed(1)} s (${(countParams(g) / 1e6).toFixed(2)} M params)`, value: (frames * 512) / SR / (ms / 1000), unit: "x real time", ms });
    tree.dispose(g);
  }
  return rows;
}

/** The training-free vocoders stage by stage on one pipeline block (where their time goes), and whole. */
async function benchPhaseVocoders(): Promise<BenchRow[]> {
  const frames = BLOCK;
  const secs = (frames * 512) / SR;
  const mel = new MelFrontEnd().compute(speech(secs)).data.subarray(0, frames * 128);
  const rows: BenchRow[] = [];
  const stage = (name: string, f: () => void) => {
    const ms = bestOf(f, quick ? 2 : 3);
    rows.push({ name: `${name} (${frames} frames, ${secs.toFixed(1)} s)`, value: secs / (ms / 1000), unit: "x real time", ms });
  };
  const inverse = melInverse(FLOWMAC_MEL);
  const mag = inverse.magnitude(mel, frames);
  const grid = new FrameGrid(await loadFastFft(2048), 512);
  const phase = pghiPhase(mag, frames, 2048, 512);
  stage(`mel -> magnitude, NNLS ${NNLS_ITERATIONS} iterations`, () => inverse.magnitude(mel, frames));
  stage("PGHI phase", () => pghiPhase(mag, frames, 2048, 512));
  stage("one FGLA iteration (ISTFT + STFT)", () => fastGriffinLim(grid, mag, frames, { iterations: 1, momentum: 0.99, initialPhase: phase }));
  for (const name of ["pghi", "pghi-fgla", "fgla"]) {
    const v = await createPhaseVocoder(parseVocoder(name) as any);
    stage(`vocoder ${v.name}, whole`, () => v.vocode(mel, frames));
  }
  return rows;
}

async function modelForBench(): Promise<{ m: LoadedModel; label: string }> {
  if (modelDir) return { m: await loadModel(readModelDir(modelDir)), label: modelDir };
  if (existsSync(join(DEFAULT_MODEL_DIR, "codec.safetensors"))) return { m: await loadModel(readModelDir(DEFAULT_MODEL_DIR)), label: "bundled model" };
  // Speed does not depend on the weights: untrained small configs stand in.
  const rng = new Rng(0);
  const codec = CODEC_CONFIGS.small;
  const vocoder = VOCODER_CONFIGS["vocos-small"];
  const { params, buffers } = initCodec(rng, codec);
  const info = { codec, vocoder, stats: { bands: 128, frames: 1, mean: Array(128).fill(-6), std: Array(128).fill(2.5) }, modelId: "0000000000000000" };
  return { m: { info, codec: params, buffers, generator: initGenerator(rng, vocoder), codecFile: null as any, vocoderFile: null as any }, label: "untrained small configs" };
}

async function timeCodec(engine: InferenceEngine, audio: Float32Array): Promise<BenchRow[]> {
  const secs = audio.length / SR;
  const rows: BenchRow[] = [];
  const prof = new Map<string, number>();
  const wrap = (e: InferenceEngine): InferenceEngine => {
    const timed = <T extends unknown[], R>(name: string, f: (...a: T) => Promise<R>) => async (...a: T) => {
      const t0 = performance.now();
      const r = await f(...a);
      prof.set(name, (prof.get(name) ?? 0) + performance.now() - t0);
      return r;
    };
    return { name: e.name, info: e.info, encode: timed("encoder", e.encode.bind(e)), prior: timed("prior decoder", e.prior.bind(e)), latent: timed("encoder", e.latent.bind(e)), searchMetricParts: () => e.searchMetricParts(), priorFromLatent: timed("prior decoder", e.priorFromLatent.bind(e)), vectorField: timed("CFM vector field", e.vectorField.bind(e)), vocode: timed("vocoder", e.vocode.bind(e)), dispose: () => e.dispose() };
  };
  const w = wrap(engine);
  const rateOf = (stages: number) => (FRAME_RATE * stages * Math.log2(engine.info.codec.rvq.codebookSize)) / 1000;
  // The RVQ search codes the stages sent: encode speed depends on the rate and the beam (1 = greedy).
  const { stages: S } = engine.info.codec.rvq;
  let enc = await encodeAudio(w, audio.subarray(0, SR)); // warm-up (jit compiles, session first runs)
  let t0 = 0;
  for (const search of [{ stages: defaultStages(engine.info.codec.rvq), beam: DEFAULT_BEAM }, { stages: defaultStages(engine.info.codec.rvq), beam: 1 }, { stages: S, beam: DEFAULT_BEAM }]) {
    await encodeAudio(w, audio.subarray(0, SR), undefined, search); // warm-up of the search's tables
    // Best of REPEATS (the machine is noisy: the minimum is the least disturbed run); the profile is the best run's.
    let encMs = Infinity;
    let encProf = new Map<string, number>();
    for (let i = 0; i < REPEATS; i++) {
      prof.clear();
      t0 = performance.now();
      enc = await encodeAudio(w, audio, undefined, search);
      const ms = performance.now() - t0;
      if (ms < encMs) [encMs, encProf] = [ms, new Map(prof)];
    }
    rows.push({ name: `${engine.name}: encode at ${rateOf(search.stages)} kbit/s, RVQ beam ${search.beam} [encoder + RVQ search ${((100 * (encProf.get("encoder") ?? 0)) / encMs).toFixed(0)}%, the rest mel front end]`, value: secs / (encMs / 1000), unit: "x real time", ms: encMs });
  }
  // What `flowmac encode` does by default: rate allocation, two passes of the encoder (the first searches every stage).
  const allocated = { stages: defaultStages(engine.info.codec.rvq), allocate: true };
  if (allocates(allocated, engine.info.codec.rvq)) {
    await encodeStream(w, audio.subarray(0, SR), allocated);
    let encMs = Infinity;
    for (let i = 0; i < REPEATS; i++) {
      t0 = performance.now();
      await encodeStream(w, audio, allocated);
      encMs = Math.min(encMs, performance.now() - t0);
    }
    rows.push({ name: `${engine.name}: encode at ${rateOf(allocated.stages)} kbit/s, rate-allocated (the default: two passes, the first searching all ${S} stages), RVQ beam ${DEFAULT_BEAM}`, value: secs / (encMs / 1000), unit: "x real time", ms: encMs });
  }
  const kbps = rateOf(enc.stages);
  const joins = blockJoinStats(await decodeMel(w, enc.codes, enc.frames, enc.stages, { steps: 8, guidance: 1, temperature: 1, seed: 0 }), enc.frames);
  rows.push({ name: `${engine.name}: block joins (${joins.joins}): mean frame-to-frame mel change at joins / elsewhere`, value: joins.meanRatio, unit: "ratio", ms: 0 });
  rows.push({ name: `${engine.name}: block joins: largest frame-to-frame mel change at joins / elsewhere`, value: joins.maxRatio, unit: "ratio", ms: 0 });
  for (const [label, o] of [
    [`decode default at ${kbps} kbit/s (the prior mel, no flow steps)`, { steps: 0, guidance: 0 }],
    [`decode LC (the prior mel, NNLS ${LC_NNLS_ITERATIONS}, PGHI + ${LC_PHASE_ITERATIONS} FGLA iterations)`, { steps: 0, guidance: 0, phaseIterations: LC_PHASE_ITERATIONS, nnlsIterations: LC_NNLS_ITERATIONS }],
    ["decode, the paper's LC (1 flow step, no guidance, 1 NFE)", { steps: 1, guidance: 0 }],
    ["decode flow, the paper's (32 steps, guidance 1, 64 NFE)", { steps: 32, guidance: 1 }],
  ] as const) {
    await decodeAudio(w, enc.codes.subarray(0, 48 * enc.stages), 48, enc.stages, 48 * 512 - 1, { ...o, temperature: 1, seed: 0 });
    let ms = Infinity;
    let best = new Map<string, number>();
    for (let i = 0; i < (o.steps <= 1 ? REPEATS : 1); i++) {
      prof.clear();
      t0 = performance.now();
      await decodeAudio(w, enc.codes, enc.frames, enc.stages, audio.length, { ...o, temperature: 1, seed: 0 });
      const t = performance.now() - t0;
      if (t < ms) [ms, best] = [t, new Map(prof)];
    }
    const parts = [...best.entries()].map(([k, v]) => `${k} ${((100 * v) / ms).toFixed(0)}%`).join(", ");
    rows.push({ name: `${engine.name}: ${label} [${parts}]`, value: secs / (ms / 1000), unit: "x real time", ms });
  }
  return rows;
}

/** Training steps of the shipped recipes, one model per child process (bench/train.ts). */
function benchTrainingSteps(): BenchRow[] {
  const script = join(dirname(fileURLToPath(import.meta.url)), "train.js");
  return ["codec", "refiner", "vocos"].flatMap((model) => {
    const out = execFileSync(process.execPath, [script, model, ...(quick ? ["--quick"] : [])], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    return JSON.parse(out.trim().split("\n").pop()!) as BenchRow[];
  });
}

async function benchCodec(): Promise<BenchRow[]> {
  const { m, label } = await modelForBench();
  const audio = speech(quick ? 5 : 10);
  console.log(`\ncodec benchmark on ${audio.length / SR} s of audio, ${label}, blocks of ${BLOCK} frames`);
  const onnx = await OnnxEngine.create(ort as any, exportModelOnnx(m));
  const rows = await timeCodec(onnx, audio);
  onnx.dispose();
  const jax = new JaxEngine(m.info, m.codec, m.buffers, m.generator);
  rows.push(...(await timeCodec(jax, audio)));
  return rows;
}

await initJax();
const fma = hasRelaxedSimd() ? "fused multiply-add" : "separate multiplies and adds (FLOWMAC_NO_FMA)";
console.log(`flowmac benchmarks (node ${process.version}, one thread, jax-js kernels with ${fma}${quick ? ", --quick" : ""})`);
if (want("mel")) printRows("front end", await benchMel());
if (want("nn")) printRows("neural core (jax-js, wasm)", await benchNn());
if (want("train")) printRows("training steps (jax-js, wasm; codec and refiner also on onnxruntime)", benchTrainingSteps());
if (want("vocoder")) printRows("vocoder generators", benchVocoders());
if (want("vocoder")) printRows("training-free vocoders (PFFFT, one thread)", await benchPhaseVocoders());
if (want("codec")) printRows("codec inference", await benchCodec());
