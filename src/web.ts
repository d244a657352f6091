/**
 * The browser entry point: the same pipeline, bitstream and ONNX engine as in
 * Node (nothing here needs jax-js), with onnxruntime-web and a model bundle
 * fetched over HTTP (made by `flowmac export` / `npm run demo:build`).
 */
import type * as OrtTypes from "onnxruntime-common";
import { CODEBOOKS_FILE, ONNX_GRAPHS, SEARCH_METRIC_FILE, type GraphName, type OnnxBundle } from "./model/export-onnx-names.js";
import { float32sFrom } from "./model/onnx-engine.js";
import { OnnxEngine } from "./model/onnx-engine.js";

export { encodeAudio, decodeAudio, DEFAULT_DECODE, FLOW_DECODE, LC_DECODE, PAPER_LC_DECODE, type DecodeOptions } from "./model/pipeline.js";
export { readFmac, readFmacHeader, writeFmac, type FmacStream } from "./bitstream/fmac.js";
/** A model's code tables for entropy-coded (version 3) streams: readFmac(bytes, name, codeModelOf(engine.info)). */
export { codeModelOf } from "./bitstream/code-model.js";
export { allocates, encodeStream, type RateChoice } from "./model/encode-stream.js";
export { encodeWav } from "./audio/wav.js";
/** Why a parsed .fmac cannot be decoded by this model (another model's stream, too many stages, ...), or null. */
export { streamMismatch } from "./model/stream-fit.js";
export { OnnxEngine };

export async function openWebEngine(ort: typeof OrtTypes, baseUrl: string, onProgress?: (loaded: number, total: number) => void): Promise<OnnxEngine> {
  const get = async (name: string) => {
    const r = await fetch(new URL(name, baseUrl));
    if (!r.ok) throw new Error(`${name}: HTTP ${r.status}`);
    return r;
  };
  const info = (await (await get("model.json")).json()) as OnnxBundle["info"];
  const graphs = {} as Record<GraphName, Uint8Array>;
  for (const [i, name] of ONNX_GRAPHS.entries()) {
    graphs[name] = new Uint8Array(await (await get(`${name}.onnx`)).arrayBuffer());
    onProgress?.(i + 1, ONNX_GRAPHS.length);
  }
  const f32 = async (file: string) => float32sFrom(new Uint8Array(await (await get(file)).arrayBuffer()), file);
  return OnnxEngine.create(ort, { info, graphs, codebooks: await f32(CODEBOOKS_FILE), metric: await f32(SEARCH_METRIC_FILE) });
}
