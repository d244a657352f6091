/**
 * Opens a model directory with an inference engine. The onnx engine uses the
 * ONNX graphs exported from the model's weights, cached per model id under
 * ~/.cache/flowmac (exported on first use, a few seconds).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { initJax } from "../nn/runtime.js";
import type { InferenceEngine } from "./engine.js";
import { CODEBOOKS_FILE, SEARCH_METRIC_FILE, exportModelOnnx, ONNX_GRAPHS, type GraphName, type OnnxBundle } from "./export-onnx.js";
import { bundleVersionProblem, float32sFrom, OnnxEngine } from "./onnx-engine.js";
import { JaxEngine } from "./jax-engine.js";
import { DEFAULT_MODEL_DIR, loadModel, modelIdOf, readModelDir, type LoadedModel } from "./load.js";

export const ENGINES = ["onnx", "jax"] as const;
export type EngineName = (typeof ENGINES)[number];

/** Cache directory of a model's ONNX export: keyed by both weight files (two models may share a codec). */
export function onnxCacheDir(info: { modelId: string; vocoderId?: string }): string {
  return join(onnxCacheBase(), info.vocoderId ? `${info.modelId}-${info.vocoderId}` : info.modelId);
}

/** flowmac's cache directory: $FLOWMAC_CACHE, else ~/.cache/flowmac. */
export function onnxCacheBase(): string {
  return process.env.FLOWMAC_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "flowmac");
}

export function writeBundle(b: OnnxBundle, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const name of ONNX_GRAPHS) writeFileSync(join(dir, `${name}.onnx`), b.graphs[name]);
  writeFileSync(join(dir, CODEBOOKS_FILE), new Uint8Array(b.codebooks.buffer, b.codebooks.byteOffset, b.codebooks.byteLength));
  writeFileSync(join(dir, SEARCH_METRIC_FILE), new Uint8Array(b.metric.buffer, b.metric.byteOffset, b.metric.byteLength));
  writeFileSync(join(dir, "model.json"), JSON.stringify(b.info) + "\n"); // written last: marks a complete export
}

export function readBundle(dir: string, want: { modelId: string; vocoderId?: string }): OnnxBundle | null {
  const infoPath = join(dir, "model.json");
  if (!existsSync(infoPath)) return null;
  const info = JSON.parse(readFileSync(infoPath, "utf8")) as OnnxBundle["info"];
  if (info.modelId !== want.modelId || info.vocoderId !== want.vocoderId || bundleVersionProblem(info)) return null; // stale: re-exported
  const graphs = {} as Record<GraphName, Uint8Array>;
  for (const name of ONNX_GRAPHS) graphs[name] = new Uint8Array(readFileSync(join(dir, `${name}.onnx`)));
  const f32 = (file: string) => float32sFrom(new Uint8Array(readFileSync(join(dir, file))), file);
  return { info, graphs, codebooks: f32(CODEBOOKS_FILE), metric: f32(SEARCH_METRIC_FILE) };
}

export async function onnxBundleFor(m: LoadedModel): Promise<OnnxBundle> {
  const dir = onnxCacheDir(m.info);
  const cached = readBundle(dir, m.info);
  if (cached) return cached;
  const bundle = exportModelOnnx(m);
  try {
    writeBundle(bundle, dir);
  } catch {
    // A read-only cache only costs a re-export next time.
  }
  return bundle;
}

/** `verbose`: let onnxruntime log its warnings and errors (by default it is silent: errors reach the caller as exceptions). */
export async function openEngine(modelDir: string = DEFAULT_MODEL_DIR, engine: EngineName = "onnx", { verbose = false } = {}): Promise<InferenceEngine> {
  const files = readModelDir(modelDir);
  const options = { logSeverity: verbose ? (2 as const) : (4 as const) };
  let ids: { modelId: string; vocoderId: string } | undefined;
  if (engine === "onnx") {
    // A model exported before (same weight bytes: the cache is keyed by their hashes) runs from its
    // graphs alone; loading the weights into jax-js would cost ~1 s of every CLI run for nothing.
    ids = { modelId: await modelIdOf(files.codec), vocoderId: await modelIdOf(files.vocoder) };
    const cached = readBundle(onnxCacheDir(ids), ids);
    if (cached) return OnnxEngine.create((await import("onnxruntime-node")) as any, cached, options);
  }
  await initJax();
  const m = await loadModel(files, ids);
  if (engine === "jax") return new JaxEngine(m.info, m.codec, m.buffers, m.generator);
  const ort = await import("onnxruntime-node");
  const engineOut = await OnnxEngine.create(ort as any, await onnxBundleFor(m), options);
  new JaxEngine(m.info, m.codec, m.buffers, m.generator).dispose();
  return engineOut;
}
