/**
 * Warm starts of a codec training run from other fitted models:
 * - `--init-linear <file>`: a `linearPath` codec takes V, m of its linear paths
 *   from a linear codec's PCA and its RVQ codebooks from that codec's k-means
 *   codebooks, so that at step 0 it encodes and decodes exactly as the linear codec;
 * - `--init-cfm <model>`: the CFM decoder's weights from a trained model of the same CFM shape.
 */
import { readFileSync } from "node:fs";
import type { CfmParams } from "../model/cfm.js";
import type { CodecConfig, RvqConfig } from "../model/config.js";
import { encodeLinear, parseLinearCodec, type LinearCodec } from "../model/linear-codec.js";
import type { LinearPathParams } from "../model/linear-path.js";
import { steadyEmaStats, type RvqBuffers } from "../model/rvq.js";
import { restoreTree, type LoadedFile } from "../nn/checkpoint.js";
import { np } from "../nn/runtime.js";
import { UserError } from "../util/errors.js";
import { configNameOf } from "./init-weights.js";

/** What a codec run starts from besides its random initialisation. */
export interface CodecStart {
  linear?: LinearCodec;
  /** A codec weights file whose CFM weights the run starts from. */
  cfm?: LoadedFile;
}

export function readLinearCodecFile(path: string): LinearCodec {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch {
    throw new UserError(`${path}: cannot read the linear codec file`);
  }
  return parseLinearCodec(bytes, path);
}

/** Refuses a linear codec whose sizes are not the codec config's, or a config without linear paths. */
export function checkLinearFits(c: CodecConfig, linear: LinearCodec, source: string): void {
  if (!c.linearPath) throw new UserError(`config '${c.name}' has no linear paths to warm-start (use a -lin config, e.g. ${c.name}-lin)`);
  const want = { bands: c.nMels, dim: c.rvq.dim, stages: c.rvq.stages, codebookSize: c.rvq.codebookSize };
  const have = { bands: linear.bands, dim: linear.dim, stages: linear.stages, codebookSize: linear.codebookSize };
  const wrong = (Object.keys(want) as (keyof typeof want)[]).filter((k) => want[k] !== have[k]);
  if (wrong.length > 0) throw new UserError(`${source}: the linear codec has ${wrong.map((k) => `${k} ${have[k]}`).join(", ")}; config '${c.name}' needs ${wrong.map((k) => `${k} ${want[k]}`).join(", ")}`);
}

/** V = components^T [bands, dim] and m = the PCA mean: the linear codec's projection as a linear path. */
export function linearPathFrom(linear: LinearCodec): LinearPathParams {
  const { bands, dim, components } = linear;
  const v = new Float32Array(bands * dim);
  for (let d = 0; d < dim; d++) for (let m = 0; m < bands; m++) v[m * dim + d] = components[d * bands + m];
  return { v: np.array(v).reshape([bands, dim]), m: np.array(Float32Array.from(linear.mean)) };
}

/**
 * RVQ buffers holding the linear codec's codebooks, with EMA statistics in the
 * steady state of the training batches: each code's count is its expected
 * weighted use per batch (from `frames` normalised mel frames coded by the
 * linear codec), its sum codebook x count. So the first EMA updates move the
 * codebooks by (1 - decay) of a batch's worth, as they would later in training.
 * Counts are floored at 1 (the fresh codebooks' count): a rarely used code is
 * restarted only after ~70 steps without use at decay 0.99, not at step 0.
 */
export function linearCodebookBuffers(linear: LinearCodec, rvq: RvqConfig, batchFrames: number, mel: Float32Array, frames: number): RvqBuffers {
  const { stages: S, codebookSize: K, dim: D } = linear;
  const codes = encodeLinear(linear, mel, frames, S);
  const out: RvqBuffers = { codebooks: [], emaCount: [], emaSum: [] };
  for (let s = 0; s < S; s++) {
    const uses = new Float64Array(K);
    for (let t = 0; t < frames; t++) uses[codes[t * S + s]]++;
    const book = linear.codebooks.slice(s * K * D, (s + 1) * K * D);
    const { count, sum } = steadyEmaStats(rvq, s, book, uses, frames, batchFrames);
    out.codebooks.push(np.array(book).reshape([K, D]));
    out.emaCount.push(np.array(count));
    out.emaSum.push(np.array(sum).reshape([K, D]));
  }
  return out;
}

/** What the CFM weights mean (window, dropout and the flow's constants may differ between the two). */
const CFM_ARCHITECTURE = ["channels", "blocksPerLevel", "midBlocks", "heads", "headDim", "groups", "timeEmbDim"] as const;

/** Refuses a codec weights file whose CFM decoder has another architecture than the config's. */
export function checkCfmFits(file: LoadedFile, c: CodecConfig): void {
  const other = file.config as CodecConfig;
  const differs: string[] = CFM_ARCHITECTURE.filter((k) => JSON.stringify(other.cfm?.[k]) !== JSON.stringify(c.cfm[k]));
  if (other.nMels !== c.nMels) differs.push("nMels");
  if (differs.length > 0) throw new UserError(`${file.source}: its CFM decoder (config '${configNameOf(file)}') differs from config '${c.name}''s in ${differs.join(", ")}`);
}

/** The CFM weights of a codec weights file, checked to have this config's CFM architecture. */
export function cfmFrom(file: LoadedFile, c: CodecConfig, like: CfmParams): CfmParams {
  checkCfmFits(file, c);
  return restoreTree(file, "params.codec.cfm", like as never) as unknown as CfmParams;
}
