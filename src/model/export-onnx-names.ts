/** Names and shape of an exported ONNX model bundle (no jax-js import: the browser build uses this). */
import type { EngineInfo } from "./engine.js";

export const ONNX_GRAPHS = ["encoder", "prior", "cfm1", "cfm2", "vocoder"] as const;
export type GraphName = (typeof ONNX_GRAPHS)[number];

/**
 * Version of the exported graphs' layout: bumped whenever the exporter or the
 * pipeline changes what the graphs compute or expect (block size, inputs), so
 * that cached or user-exported bundles from older versions are not used.
 */
export const ONNX_FORMAT = 8;

/** The bundle file holding the RVQ codebooks [S, K, dim] as little-endian float32 (the host-side RVQ search needs them). */
export const CODEBOOKS_FILE = "codebooks.f32";

export interface OnnxBundle {
  info: EngineInfo & { block: number; format: number };
  graphs: Record<GraphName, Uint8Array>;
  /** RVQ codebooks [S, K, dim]: the encoder graph outputs scores against them, the host searches. */
  codebooks: Float32Array;
}
