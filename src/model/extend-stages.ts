/**
 * A trained codec with more RVQ stages: the encoder, decoder, CFM and the
 * existing codebooks are kept byte for byte, and new codebooks are appended
 * after them. Greedy RVQ codes stage s from what stages 0..s-1 left, so the
 * first stages' codes, and the prior decoded from them, do not change: the
 * lower rates decode exactly as before, and the new stages add higher ones.
 */
import { UserError } from "../util/errors.js";
import { parseSafeTensors, serializeSafeTensors, type NamedTensor, type TensorData } from "../util/safetensors.js";
import { CHECKPOINT_FORMAT } from "../nn/checkpoint.js";
import { steadyEmaStats } from "./rvq.js";
import { extendedConfig, type CodecConfig } from "./config.js";

export { extendedConfig };

/** Most stages a .fmac header can carry. */
export const MAX_STAGES = 64;

/** The new stages' codebooks [stages - base, K, D] and how often the fitting frames used each entry. */
export interface NewStages {
  codebooks: Float32Array;
  counts: Float64Array[];
  /** Frames they were fitted on. */
  frames: number;
}

/** Checks that a codec file can grow to `stages` stages; returns its config. */
export function checkExtendable(bytes: Uint8Array, source: string, stages: number): CodecConfig {
  const meta = parseSafeTensors(bytes, source).metadata;
  if (meta.format !== CHECKPOINT_FORMAT || meta.model !== "codec") throw new UserError(`${source}: not a flowmac codec weights file`);
  const c = JSON.parse(meta.config) as CodecConfig;
  if (stages <= c.rvq.stages) throw new UserError(`--stages ${stages}: the model already has ${c.rvq.stages} RVQ stages (extending adds stages)`);
  if (stages > MAX_STAGES) throw new UserError(`--stages ${stages}: a .fmac stream carries at most ${MAX_STAGES} stages`);
  return c;
}

/**
 * The codec weights file `bytes` with the new stages appended. Their EMA
 * statistics are in the steady state of training batches (as the warm start
 * sets them, src/train/warm-start.ts): count = expected use per batch of
 * `batchFrames` frames under the new config's quantizer dropout, floored at 1;
 * sum = codeword x count. So fine-tuning the extended model starts smoothly.
 * `provenance` goes into the metadata as `extended`.
 */
export function extendCodecFile(bytes: Uint8Array, source: string, added: NewStages, batchFrames: number, provenance: Record<string, unknown>): Uint8Array {
  const file = parseSafeTensors(bytes, source);
  const base = JSON.parse(file.metadata.config) as CodecConfig;
  const { stages: S0, codebookSize: K, dim: D } = base.rvq;
  const extra = added.counts.length;
  if (added.codebooks.length !== extra * K * D) throw new Error(`expected ${extra * K * D} codebook values, got ${added.codebooks.length}`);
  const config = extendedConfig(base, S0 + extra);
  const grown = new Map<string, [string, NamedTensor][]>([["codebooks", []], ["emaSum", []], ["emaCount", []]]);
  for (let j = 0; j < extra; j++) {
    const s = S0 + j;
    const book = added.codebooks.slice(j * K * D, (j + 1) * K * D);
    const { count, sum } = steadyEmaStats(config.rvq, s, book, added.counts[j], added.frames, batchFrames);
    grown.get("codebooks")!.push([`buffers.codebooks.${s}`, f32([K, D], book)]);
    grown.get("emaSum")!.push([`buffers.emaSum.${s}`, f32([K, D], sum)]);
    grown.get("emaCount")!.push([`buffers.emaCount.${s}`, f32([K], count)]);
  }
  // Each group's new tensors follow its last old one, so the file reads in stage order.
  const tensors: [string, NamedTensor][] = [];
  for (const [name, t] of file.tensors) {
    tensors.push([name, t]);
    const m = /^buffers\.(codebooks|emaSum|emaCount)\.(\d+)$/.exec(name);
    if (m && Number(m[2]) === S0 - 1) tensors.push(...grown.get(m[1])!);
  }
  for (const [g, list] of grown) if (!tensors.some(([n]) => n === list[0][0])) throw new UserError(`${source}: no tensor buffers.${g}.${S0 - 1} (not a codec with ${S0} RVQ stages)`);
  return serializeSafeTensors(
    tensors.map(([name, t]): [string, { shape: number[]; data: TensorData }] => [name, t]),
    { ...file.metadata, config: JSON.stringify(config), extended: JSON.stringify(provenance) },
  );
}

function f32(shape: number[], data: Float32Array): NamedTensor {
  return { dtype: "F32", shape, data };
}
