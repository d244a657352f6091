/** Names and shape of an exported ONNX model bundle (no jax-js import: the browser build uses this). */
import type { EngineInfo } from "./engine.js";

export const ONNX_GRAPHS = ["encoder", "prior", "prior-latent", "cfm1", "cfm2", "vocoder"] as const;
export type GraphName = (typeof ONNX_GRAPHS)[number];

/**
 * Version of the exported graphs' layout: bumped whenever the exporter or the
 * pipeline changes what the graphs compute or expect (block size, inputs), so
 * that cached or user-exported bundles from older versions are not used.
 */
export const ONNX_FORMAT = 10;

/** The bundle file holding the RVQ codebooks [S, K, dim] as little-endian float32 (the host-side RVQ search needs them). */
export const CODEBOOKS_FILE = "codebooks.f32";

/** The bundle file holding the encoder search's metric parts [2, dim, dim] (search-metric.ts metricParts), little-endian float32; empty for the plain metric. */
export const SEARCH_METRIC_FILE = "search-metric.f32";

export interface OnnxBundle {
  info: EngineInfo & { block: number; format: number };
  graphs: Record<GraphName, Uint8Array>;
  /** RVQ codebooks [S, K, dim]: the encoder graph outputs scores against them as the search's metric weighs them (an input), the host searches. */
  codebooks: Float32Array;
  /** The search metric's parts [2, dim, dim] (search-metric.ts metricParts); empty: the plain metric. */
  metric: Float32Array;
}
