/**
 * Whether a parsed .fmac stream fits the model about to decode it. Checked
 * before any engine runs: an index beyond a codebook is an onnxruntime error
 * in one engine and a silently clamped lookup in the other.
 */
import { framesFor, SAMPLE_RATE, type FmacStream } from "../bitstream/fmac.js";
import { FRAME_RATE, kbit } from "./config.js";
import type { EngineInfo } from "./engine.js";

/** Position of the first code that is not below `size`, or -1. */
export function firstCodeBeyond(codes: ArrayLike<number>, size: number): number {
  for (let i = 0; i < codes.length; i++) if (!(codes[i] >= 0 && codes[i] < size)) return i;
  return -1;
}

/** kbit/s of `stages` stages of `bits`-bit indices, without float noise (3, 6, 1.5). */
function rate(stages: number, bits: number): string {
  return `${kbit(FRAME_RATE * stages * bits)} kbit/s`;
}

/**
 * Why `s` (a stream, or a header alone: readFmacHeader) cannot be decoded by
 * the model `info` describes, or null if it can.
 * `locate` says how to reach the model that wrote a foreign stream (e.g.
 * "it decodes with --model models/x"), so that the message names the model the
 * stream needs; null when it is not known here.
 */
export function streamMismatch(s: Omit<FmacStream, "codes"> & { codes?: FmacStream["codes"] }, info: EngineInfo, locate: (modelId: string) => string | null = () => null): string | null {
  const { stages, codebookSize } = info.codec.rvq;
  const bits = Math.log2(codebookSize);
  if (s.modelId !== info.modelId) {
    const fix = locate(s.modelId) ?? "pass the right --model";
    // A rate this model does not serve at all is the likelier mix-up (a 6 kbit/s file, a 3 kbit/s model): say so.
    if (s.stages > stages) return `made by a different model (id ${s.modelId}) at ${rate(s.stages, s.bitsPerIndex)} (${s.stages} RVQ stages); this model (${info.modelId}, ${info.codec.name}) codes at most ${rate(stages, bits)} (${stages} stages): ${fix}`;
    return `made by a different model (id ${s.modelId}); this model is ${info.modelId}: ${fix}`;
  }
  if (s.stages > stages) return `has ${s.stages} RVQ stages but the model has ${stages} (at most ${rate(stages, bits)})`;
  if (s.bitsPerIndex !== bits) return `corrupt .fmac header (${s.bitsPerIndex} bits per index; the model's codebooks have ${codebookSize} entries, ${bits} bits)`;
  if (s.sampleRate !== SAMPLE_RATE) return `corrupt .fmac header (sample rate ${s.sampleRate}; the model codes ${SAMPLE_RATE} Hz)`;
  if (s.frames !== framesFor(s.length) || (s.codes && s.codes.length !== s.frames * s.stages)) return `corrupt .fmac header (${s.frames} frames for ${s.length} samples)`;
  if (s.predictive && info.predictive === undefined) return "corrupt .fmac header (the predictive flag is set; this model has no predictive RVQ)";
  if (!s.codes) return null; // a header alone: its payload is checked once read
  const bad = firstCodeBeyond(s.codes, codebookSize);
  if (bad >= 0) return `corrupt .fmac file (index ${s.codes[bad]} at frame ${Math.floor(bad / s.stages)}, stage ${bad % s.stages}; the codebooks have ${codebookSize} entries)`;
  return null;
}
