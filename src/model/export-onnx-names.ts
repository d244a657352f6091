/** Names and shape of an exported ONNX model bundle (no jax-js import: the browser build uses this). */
import type { EngineInfo } from "./engine.js";

export const ONNX_GRAPHS = ["encoder", "prior", "cfm1", "cfm2", "vocoder"] as const;
export type GraphName = (typeof ONNX_GRAPHS)[number];

export interface OnnxBundle {
  info: EngineInfo & { block: number };
  graphs: Record<GraphName, Uint8Array>;
}
