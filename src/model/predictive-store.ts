/**
 * Where a model keeps its predictive RVQ (predictive-rvq.ts): one float32 tensor
 * in codec.safetensors (the mean, the predictor and the codebooks, flat), with
 * its shape and how it was fitted in the metadata, so the model id covers it: a
 * predictive stream decodes only with the books it was coded with. Engines carry
 * it as EngineInfo.predictive, a JSON string (ONNX bundles write their info as
 * JSON, the browser reads it); no jax-js here.
 */
import { base64ToBytes, bytesToBase64 } from "../util/base64.js";
import { UserError } from "../util/errors.js";
import { withTensors } from "../util/safetensors.js";
import type { PredictiveRvq } from "./predictive-rvq.js";

export const PREDICTIVE_TENSOR = "predictive_rvq";

interface PredictiveHeader {
  dim: number;
  codebookSize: number;
  stages: number;
  /** How it was fitted (rho, frames, ...): for the model card, not read back. */
  fit?: Record<string, unknown>;
}

function flat(q: PredictiveRvq): Float32Array {
  const out = new Float32Array(q.dim + q.dim * q.dim + q.codebooks.length);
  out.set(q.mean);
  out.set(q.predictor, q.dim);
  out.set(q.codebooks, q.dim + q.dim * q.dim);
  return out;
}

/** Codec weights with a predictive RVQ added (or replaced): a new model id. */
export function withPredictiveRvq(codec: Uint8Array, q: PredictiveRvq, fit: Record<string, unknown>, source = "codec.safetensors"): Uint8Array {
  const header: PredictiveHeader = { dim: q.dim, codebookSize: q.codebookSize, stages: q.stages, fit };
  const data = flat(q);
  return withTensors(codec, { [PREDICTIVE_TENSOR]: { shape: [data.length], data } }, { [PREDICTIVE_TENSOR]: JSON.stringify(header) }, source);
}

/** EngineInfo.predictive of a predictive RVQ (what loading a codec file that carries it gives). */
export function predictiveInfoOf(q: PredictiveRvq, fit?: Record<string, unknown>): string {
  const data = flat(q);
  const header: PredictiveHeader = { dim: q.dim, codebookSize: q.codebookSize, stages: q.stages, ...(fit ? { fit } : {}) };
  return JSON.stringify({ header, data: bytesToBase64(new Uint8Array(data.buffer)) });
}

/** EngineInfo.predictive from a codec file's tensor and metadata; undefined when it has none. */
export function predictiveInfo(tensors: Map<string, { shape: number[]; data: unknown }>, metadata: Record<string, string>, source: string): string | undefined {
  const text = metadata[PREDICTIVE_TENSOR];
  if (text === undefined) return undefined;
  const t = tensors.get(PREDICTIVE_TENSOR);
  if (!t || !(t.data instanceof Float32Array)) throw new UserError(`${source}: corrupt predictive RVQ (no float32 ${PREDICTIVE_TENSOR} tensor)`);
  const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return JSON.stringify({ header: JSON.parse(text), data: bytesToBase64(bytes) });
}

/** predictiveOf, or a one-line error for a model without one (encoding or decoding a predictive stream needs it). */
export function requirePredictive(info: { modelId: string; predictive?: string; codec: { rvq: { dim: number; codebookSize: number } } }): PredictiveRvq {
  const q = predictiveOf(info);
  if (!q) throw new UserError(`model ${info.modelId} has no predictive RVQ (fit one with 'flowmac fit-predictive')`);
  return q;
}

const parsed = new Map<string, PredictiveRvq>();

/** A model's predictive RVQ (EngineInfo.predictive), parsed once; undefined for a model without one. */
export function predictiveOf(info: { predictive?: string; codec: { rvq: { dim: number; codebookSize: number } } }, source = "model"): PredictiveRvq | undefined {
  const text = info.predictive;
  if (text === undefined) return undefined;
  const hit = parsed.get(text);
  if (hit) return hit;
  let q: PredictiveRvq;
  try {
    const { header, data } = JSON.parse(text) as { header: PredictiveHeader; data: string };
    const bytes = base64ToBytes(data);
    const values = new Float32Array(bytes.length / 4);
    new Uint8Array(values.buffer).set(bytes.subarray(0, values.length * 4));
    const { dim: D, codebookSize: K, stages: S } = header;
    if (D !== info.codec.rvq.dim || K !== info.codec.rvq.codebookSize) throw new Error(`books of ${K} x ${D} for a codec of ${info.codec.rvq.codebookSize} x ${info.codec.rvq.dim}`);
    if (!(S >= 1) || values.length !== D + D * D + S * K * D) throw new Error(`${values.length} values for ${S} stages of ${K} x ${D}`);
    q = { dim: D, codebookSize: K, stages: S, mean: values.slice(0, D), predictor: values.slice(D, D + D * D), codebooks: values.slice(D + D * D) };
  } catch (e) {
    throw new UserError(`${source}: corrupt predictive RVQ (${(e as Error).message})`);
  }
  if (parsed.size > 8) parsed.clear();
  parsed.set(text, q);
  return q;
}
