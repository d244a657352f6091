/**
 * Audio to a .fmac stream at a rate: the one encoder the CLI, `flowmac eval`
 * and the browser demo share. A rate is an average number of RVQ stages a
 * frame. Allocated (the default where the model has stages to spare): the
 * stages go where they remove the most error (rate-allocation.ts) and the
 * stream is version 2; else every frame carries the same stages (version 1).
 *
 * Allocation takes two passes of the encoder: the first searches every stage
 * of every frame, which gives the error each count would leave; the second
 * searches each frame again for exactly its count (measured on validation
 * speech: the second pass is worth +0.003 STOI at 3 kbit/s, docs/results.md).
 */
import { codeModelOf, cumulativeIndexBits, indexBitRows, streamIndexBits } from "../bitstream/code-model.js";
import { SAMPLE_RATE, type FmacStream } from "../bitstream/fmac.js";
import type { InferenceEngine } from "./engine.js";
import { encodeChunks } from "./pipeline.js";
import { bitrate } from "./config.js";
import { highBandWeightFor } from "./search-metric.js";
import { requirePredictive } from "./predictive-store.js";
import { UserError } from "../util/errors.js";
import { allocateStream, allocationBudget, allocationBits, minStagesFor, trimToBudget } from "./rate-allocation.js";

/**
 * The entropy-constrained search's defaults (RateChoice.rdWeight, rdAhead), chosen on 24
 * validation speech clips at the same file sizes (docs/results.md): at 1.5 kbit/s STOI / ESTOI
 * 0.784 / 0.635 against 0.779 / 0.626 without; at 3 kbit/s level.
 */
export const DEFAULT_RD_WEIGHT = 1;
export const DEFAULT_RD_AHEAD_BITS = 6;
/**
 * The look-ahead is at most this share of a frame's bits: planned beyond what the search saves,
 * stages are trimmed after the search, which is far less efficient than not planning them (on the
 * tests' tiny model, 6 bits ahead of a 9-bit frame left fewer stages than no ECVQ at all).
 */
export const RD_AHEAD_MAX_SHARE = 0.15;

/** The range coder's flush, at most (bitstream/range-coder.ts): reserved from an entropy-coded stream's budget. */
const RANGE_CODER_FLUSH_BITS = 40;

export interface RateChoice {
  /** Stages' bits a frame: a whole number without allocation, any value from 1 to the model's stages with it. */
  stages: number;
  allocate: boolean;
  /** Entropy-code the allocated stream where the model has code tables (version 3; default true). */
  entropy?: boolean;
  /**
   * Entropy-coded streams: the second pass's RVQ search weighs an index's bits at this
   * multiple of the allocation's price of a bit (its Lagrange multiplier; 0: distortion
   * only, the search of version 2). Default DEFAULT_RD_WEIGHT.
   */
  rdWeight?: number;
  /**
   * With an rdWeight: bits a frame the allocation plans beyond the budget, since the first
   * pass prices indices the search then makes cheaper; any excess is trimmed. Default DEFAULT_RD_AHEAD_BITS.
   */
  rdAhead?: number;
  /** The weight of the mel bands above 4 kHz in the RVQ search's error (search-metric.ts). Default: by the rate, highBandWeightFor. */
  highBandWeight?: number;
  /**
   * Code with the model's predictive RVQ (predictive-rvq.ts; `flowmac fit-predictive`): the stream
   * carries the predictive flag; allocated (version 2, no entropy coding) or the same stages every frame (version 1).
   */
  predictive?: boolean;
}

/**
 * Whether `rate` is coded by allocation: asked for, with stages to spare, and a budget above
 * one stage's bits plus the counts' code (1 bit a frame at least). Else every frame carries the
 * whole stages the rate affords. Allocation runs the encoder twice.
 */
export function allocates(rate: RateChoice, rvq: { stages: number; codebookSize: number }): boolean {
  const bitsPerIndex = Math.log2(rvq.codebookSize);
  return rate.allocate && rate.stages < rvq.stages && rate.stages * bitsPerIndex >= bitsPerIndex + 1;
}

/**
 * Encodes `audio` (24 kHz mono), or the signal `open()` yields (called once per pass, `length`
 * samples: a long file read piece by piece), at `rate`. `beam`: the RVQ search's beam (default DEFAULT_BEAM).
 */
export async function encodeStream(
  engine: InferenceEngine,
  audio: Float32Array | { open: () => AsyncIterable<Float32Array>; length: number },
  rate: RateChoice,
  beam?: number,
  onProgress?: (done: number, total: number) => void,
): Promise<FmacStream> {
  const { open, length } = audio instanceof Float32Array ? { open: () => (async function* () { yield audio; })(), length: audio.length } : audio;
  const { rvq } = engine.info.codec;
  const S = rvq.stages;
  const bitsPerIndex = Math.log2(rvq.codebookSize);
  const head = { modelId: engine.info.modelId, sampleRate: SAMPLE_RATE, bitsPerIndex, length };
  if (!(rate.stages >= 1 && rate.stages <= S)) throw new RangeError(`${rate.stages} stages a frame asked of a model with ${S}`);
  if (!rate.allocate && !Number.isInteger(rate.stages)) throw new RangeError(`${rate.stages} stages a frame: a whole number without allocation`);
  // Both passes search with the rate's metric: the first pass's errors steer the allocation.
  const highBandWeight = rate.highBandWeight ?? highBandWeightFor(bitrate(rate.stages, rvq.codebookSize) / 1000);
  if (rate.predictive) return encodePredictiveStream(engine, open, length, rate, highBandWeight, onProgress);
  if (!allocates(rate, rvq)) {
    const stages = Math.floor(rate.stages + 1e-9);
    const enc = await encodeChunks(engine, open(), length, onProgress, { stages, beam, highBandWeight });
    return { ...head, stages, frames: enc.frames, codes: enc.codes };
  }
  // Progress: the first pass is the first half, the second the rest (both have the same blocks).
  const first = await encodeChunks(engine, open(), length, onProgress && ((d, t) => onProgress(d, 2 * t)), { stages: S, beam, highBandWeight });
  // Entropy-coded (version 3) where the model has code tables: the first pass's indices price each frame's counts.
  const tables = rate.entropy === false ? undefined : codeModelOf(engine.info);
  const codeModel = tables && tables.stages.length > 0 ? tables : undefined; // tables that pay for no stage: version 2
  const indexBits = codeModel && cumulativeIndexBits(codeModel, first.codes, first.frames, S);
  // Entropy-constrained second pass (ECVQ): an index's bits are worth `weight` times what the allocation paid for a bit.
  const weight = codeModel ? (rate.rdWeight ?? DEFAULT_RD_WEIGHT) : 0;
  const ahead = weight > 0 ? (rate.rdAhead ?? Math.min(DEFAULT_RD_AHEAD_BITS, RD_AHEAD_MAX_SHARE * rate.stages * bitsPerIndex)) * first.frames : 0;
  const { frameStages, baseStages, lambda } = allocateStream(first, rate.stages, bitsPerIndex, indexBits && { indexBits, reserve: RANGE_CODER_FLUSH_BITS - ahead });
  const rd = codeModel && weight > 0 && Number.isFinite(lambda) ? { lambda: weight * lambda, bits: indexBitRows(codeModel) } : undefined;
  const second = await encodeChunks(engine, open(), length, onProgress && ((d, t) => onProgress(t + d, 2 * t)), { stages: S, beam, frameStages, rate: rd, highBandWeight });
  if (codeModel) {
    // The second pass may pick other indices than the first priced, and a frame after one with fewer stages
    // loses its contexts: keep within the rate regardless.
    const budget = allocationBudget(rate.stages, bitsPerIndex, second.frames) - RANGE_CODER_FLUSH_BITS;
    const bits = (c: Uint8Array) => streamIndexBits(codeModel, second.codes, c, second.frames, S) + allocationBits(c, { max: S, bitsPerIndex: 0, start: baseStages });
    trimToBudget({ ...second, frameStages, stages: S }, budget, minStagesFor(rate.stages), bitsPerIndex, bits);
  }
  return { ...head, stages: S, frames: second.frames, codes: second.codes, frameStages, baseStages, codeModel };
}

/**
 * A predictive stream: allocated where `rate` allocates (the first pass's open-loop errors steer
 * the counts, the second pass codes the closed loop with them; version 2), else the same stages
 * every frame (version 1). Not entropy-coded: the code tables are the plain RVQ's.
 */
async function encodePredictiveStream(
  engine: InferenceEngine,
  open: () => AsyncIterable<Float32Array>,
  length: number,
  rate: RateChoice,
  highBandWeight: number,
  onProgress?: (done: number, total: number) => void,
): Promise<FmacStream> {
  const q = requirePredictive(engine.info);
  // A predictive RVQ may have fewer stages than the model (fitted for the low rates only).
  const rvq = { ...engine.info.codec.rvq, stages: Math.min(engine.info.codec.rvq.stages, q.stages) };
  const S = rvq.stages;
  if (rate.stages > S) throw new UserError(`${rate.stages} stages a frame asked of a predictive RVQ of ${S} (fitted for the rates up to ${S} stages)`);
  const bitsPerIndex = Math.log2(rvq.codebookSize);
  const head = { modelId: engine.info.modelId, sampleRate: SAMPLE_RATE, bitsPerIndex, length, predictive: true };
  if (!allocates(rate, rvq)) {
    const stages = Math.floor(rate.stages + 1e-9);
    const enc = await encodeChunks(engine, open(), length, onProgress, { stages, highBandWeight, predictive: true });
    return { ...head, stages, frames: enc.frames, codes: enc.codes };
  }
  const first = await encodeChunks(engine, open(), length, onProgress && ((d, t) => onProgress(d, 2 * t)), { stages: S, highBandWeight, predictive: true });
  const { frameStages, baseStages } = allocateStream(first, rate.stages, bitsPerIndex);
  const second = await encodeChunks(engine, open(), length, onProgress && ((d, t) => onProgress(t + d, 2 * t)), { stages: S, frameStages, highBandWeight, predictive: true });
  return { ...head, stages: S, frames: second.frames, codes: second.codes, frameStages, baseStages };
}
