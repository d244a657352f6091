import { Rng } from "../src/nn/rng.js";
import { CODEC_CONFIGS } from "../src/model/config.js";
import { initCodec } from "../src/model/codec.js";
import { ALL_VOCODER_CONFIGS, initAnyVocoder } from "../src/model/vocoder.js";
import type { EngineInfo } from "../src/model/engine.js";
import type { LoadedModel } from "../src/model/load.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";

/** An untrained tiny model (random weights), enough to test shapes, plumbing and determinism. */
export function tinyModel(seed = 0, vocoder = "vocos-tiny", config = "tiny"): LoadedModel {
  const rng = new Rng(seed);
  const codec = CODEC_CONFIGS[config];
  const { params, buffers } = initCodec(rng, codec);
  const vc = ALL_VOCODER_CONFIGS[vocoder];
  const info: EngineInfo = {
    codec,
    vocoder: vc,
    stats: { bands: 128, frames: 1000, mean: Array(128).fill(-6), std: Array(128).fill(2.5) },
    modelId: "00112233445566" + String(seed).padStart(2, "0"),
  };
  return { info, codec: params, buffers, generator: initAnyVocoder(rng, vc), codecFile: null as any, vocoderFile: null as any };
}

export function testSignal(seconds: number, rate = 24000): Float32Array {
  const n = Math.round(seconds * rate);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const t = i / rate;
    x[i] = 0.3 * Math.sin(2 * Math.PI * 220 * t) * (0.6 + 0.4 * Math.sin(2 * Math.PI * 2 * t)) + 0.1 * Math.sin(2 * Math.PI * 1375 * t * (1 + 0.1 * t));
  }
  return x;
}

/** Writes a tiny random model as a model directory (codec.safetensors + vocoder.safetensors). */
export async function writeTinyModelDir(dir: string, seed = 0, vocoder = "vocos-tiny"): Promise<string> {
  const { saveCheckpoint } = await import("../src/nn/checkpoint.js");
  const { mkdirSync } = await import("node:fs");
  const { join } = await import("node:path");
  mkdirSync(dir, { recursive: true });
  const m = tinyModel(seed, vocoder);
  saveCheckpoint(join(dir, "codec.safetensors"), { model: "codec", config: m.info.codec, trees: { "params.codec": m.codec as any, buffers: m.buffers as any }, info: { mel_stats: JSON.stringify(m.info.stats) } });
  saveCheckpoint(join(dir, "vocoder.safetensors"), { model: "vocoder", config: m.info.vocoder, trees: { "params.gen": m.generator as any } });
  return dir;
}

/** The jax-js reference engine and the onnxruntime engine (graphs exported from the same weights) for parity checks. */
export async function enginePair(m: LoadedModel): Promise<{ jax: JaxEngine; onnx: OnnxEngine }> {
  const { tree } = await import("../src/nn/runtime.js");
  const ort = await import("onnxruntime-node");
  return {
    jax: new JaxEngine(m.info, tree.ref(m.codec), tree.ref(m.buffers), tree.ref(m.generator)),
    onnx: await OnnxEngine.create(ort as never, exportModelOnnx(m)),
  };
}
