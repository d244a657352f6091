/**
 * The linear reference codec: the floor the learned codec must clear. A frame of
 * normalised log-mel is projected on its top principal directions (PCA), and the
 * coefficients are coded by a residual VQ whose codebooks are k-means fits, stage
 * by stage, on the residuals. The PCA basis is orthonormal, so squared error on
 * the coefficients is squared error on the mel (within the subspace): k-means
 * minimises the codec's reconstruction error directly, with no weighting.
 * A fitted codec is one safetensors file that carries its mel statistics.
 */
import { parseMelStats, type MelStats } from "../audio/stats.js";
import { Rng } from "../nn/rng.js";
import { UserError } from "../util/errors.js";
import { parseSafeTensors, serializeSafeTensors, type NamedTensor } from "../util/safetensors.js";
import { assignNearest } from "./kmeans.js";
import { fitPca } from "./pca.js";
import { fitResidualStages, subtractCodewords } from "./rvq-fit.js";

export const LINEAR_FORMAT = "flowmac-linear";
export const LINEAR_VERSION = "1";

export interface LinearCodec {
  /** Normalisation of the log-mel the codec works on. */
  stats: MelStats;
  bands: number;
  dim: number;
  stages: number;
  codebookSize: number;
  /** PCA mean of the normalised frames [bands]. */
  mean: Float32Array;
  /** Orthonormal PCA directions as rows [dim, bands]. */
  components: Float32Array;
  /** Residual-VQ codebooks [stages, codebookSize, dim]. */
  codebooks: Float32Array;
  /** How it was fitted (provenance only). */
  fit: LinearFitInfo;
}

export interface LinearFitInfo {
  frames: number;
  seed: number;
  iterations: number;
  /** Share of the normalised frames' variance the PCA keeps. */
  explainedVariance: number;
}

export interface LinearFitOptions {
  stats: MelStats;
  dim: number;
  stages: number;
  codebookSize: number;
  seed: number;
  /** Most Lloyd iterations per stage. */
  iterations: number;
  log?: (message: string) => void;
}

/** Fits PCA and residual-VQ codebooks to `n` normalised mel frames [n, bands]. */
export function fitLinearCodec(frames: Float32Array, n: number, opts: LinearFitOptions): LinearCodec {
  const bands = opts.stats.bands;
  const { dim, stages, codebookSize: k } = opts;
  checkShape(bands, dim, stages, k);
  if (frames.length < n * bands) throw new Error(`expected ${n * bands} values, got ${frames.length}`);
  if (n < k) throw new UserError(`fitting ${k}-entry codebooks needs at least ${k} frames, got ${n}`);
  const log = opts.log ?? (() => {});
  const pca = fitPca(frames, n, bands, dim);
  const total = pca.variances.reduce((s, v) => s + Math.max(v, 0), 0);
  const kept = pca.variances.subarray(0, dim).reduce((s, v) => s + Math.max(v, 0), 0);
  const explainedVariance = total > 0 ? kept / total : 1;
  log(`PCA: ${dim} of ${bands} dimensions keep ${(100 * explainedVariance).toFixed(1)}% of the variance`);
  const { frames: statFrames, mean, std } = opts.stats;
  const partial: LinearCodec = {
    stats: { bands, frames: statFrames, mean: [...mean], std: [...std] }, // just the fields decoding needs
    bands,
    dim,
    stages,
    codebookSize: k,
    mean: Float32Array.from(pca.mean),
    components: Float32Array.from(pca.components),
    codebooks: new Float32Array(stages * k * dim),
    fit: { frames: n, seed: opts.seed, iterations: opts.iterations, explainedVariance },
  };
  const residual = projectLinear(partial, frames, n);
  partial.codebooks.set(
    fitResidualStages(residual, n, dim, k, stages, new Rng(opts.seed), opts.iterations, (s, f) =>
      log(`stage ${s + 1}/${stages}: ${f.iterations} Lloyd iterations, residual MSE ${f.meanSquaredError.toPrecision(4)} per frame (${f.seconds.toFixed(1)} s)`),
    ),
  );
  return partial;
}

/** PCA coefficients [frames, dim] of normalised mel frames [frames, bands]. */
export function projectLinear(codec: LinearCodec, melNorm: Float32Array, frames: number): Float32Array {
  const { bands, dim, mean, components } = codec;
  if (melNorm.length < frames * bands) throw new Error(`expected ${frames * bands} values, got ${melNorm.length}`);
  const out = new Float32Array(frames * dim);
  const centred = new Float64Array(bands);
  for (let t = 0; t < frames; t++) {
    for (let m = 0; m < bands; m++) centred[m] = melNorm[t * bands + m] - mean[m];
    for (let d = 0; d < dim; d++) {
      let acc = 0;
      for (let m = 0; m < bands; m++) acc += centred[m] * components[d * bands + m];
      out[t * dim + d] = acc;
    }
  }
  return out;
}

/** Codes [frames, stages] (frame-major, as in .fmac) of normalised mel frames, by greedy residual quantisation. */
export function encodeLinear(codec: LinearCodec, melNorm: Float32Array, frames: number, stages: number): Uint16Array {
  checkStages(codec, stages);
  const { dim, codebookSize: k } = codec;
  const residual = projectLinear(codec, melNorm, frames);
  const index = new Uint32Array(frames);
  const dist = new Float64Array(frames);
  const codes = new Uint16Array(frames * stages);
  for (let s = 0; s < stages; s++) {
    const book = codebook(codec, s);
    assignNearest(residual, frames, dim, book, k, index, dist);
    subtractCodewords(residual, frames, dim, book, index);
    for (let t = 0; t < frames; t++) codes[t * stages + s] = index[t];
  }
  return codes;
}

/** Normalised mel frames [frames, bands] from codes [frames, stages]: sum of codewords, then the inverse PCA. */
export function decodeLinear(codec: LinearCodec, codes: Uint16Array, frames: number, stages: number): Float32Array {
  checkStages(codec, stages);
  if (codes.length !== frames * stages) throw new Error(`expected ${frames * stages} codes, got ${codes.length}`);
  const { bands, dim, codebookSize: k, mean, components, codebooks } = codec;
  const out = new Float32Array(frames * bands);
  const coeff = new Float64Array(dim);
  for (let t = 0; t < frames; t++) {
    coeff.fill(0);
    for (let s = 0; s < stages; s++) {
      const code = codes[t * stages + s];
      if (code >= k) throw new UserError(`code ${code} is outside the ${k}-entry codebook`);
      const base = (s * k + code) * dim;
      for (let d = 0; d < dim; d++) coeff[d] += codebooks[base + d];
    }
    for (let m = 0; m < bands; m++) {
      let acc = mean[m];
      for (let d = 0; d < dim; d++) acc += coeff[d] * components[d * bands + m];
      out[t * bands + m] = acc;
    }
  }
  return out;
}

function codebook(codec: LinearCodec, stage: number): Float32Array {
  const size = codec.codebookSize * codec.dim;
  return codec.codebooks.subarray(stage * size, (stage + 1) * size);
}

function checkStages(codec: LinearCodec, stages: number): void {
  if (!Number.isInteger(stages) || stages < 1 || stages > codec.stages) throw new UserError(`the linear codec has 1 to ${codec.stages} stages, asked for ${stages}`);
}

function checkShape(bands: number, dim: number, stages: number, k: number): void {
  if (!Number.isInteger(dim) || dim < 1 || dim > bands) throw new UserError(`dim must be an integer from 1 to ${bands}, got ${dim}`);
  if (!Number.isInteger(stages) || stages < 1 || stages > 64) throw new UserError(`stages must be an integer from 1 to 64, got ${stages}`);
  // A power of two, so that an index is a whole number of bits, as in .fmac.
  if (!Number.isInteger(k) || k < 2 || k > 65536 || (k & (k - 1)) !== 0) throw new UserError(`codebook size must be a power of two from 2 to 65536, got ${k}`);
}

export function serializeLinearCodec(codec: LinearCodec): Uint8Array {
  const { bands, dim, stages, codebookSize } = codec;
  return serializeSafeTensors(
    [
      ["mean", { shape: [bands], data: codec.mean }],
      ["components", { shape: [dim, bands], data: codec.components }],
      ["codebooks", { shape: [stages, codebookSize, dim], data: codec.codebooks }],
    ],
    {
      format: LINEAR_FORMAT,
      version: LINEAR_VERSION,
      config: JSON.stringify({ bands, dim, stages, codebookSize }),
      fit: JSON.stringify(codec.fit),
      mel_stats: JSON.stringify(codec.stats),
    },
  );
}

/** Reads a fitted linear codec; anything else is a one-line UserError naming `source`. */
export function parseLinearCodec(bytes: Uint8Array, source: string): LinearCodec {
  const file = parseSafeTensors(bytes, source);
  const meta = file.metadata;
  if (meta.format !== LINEAR_FORMAT) throw new UserError(`${source}: not a linear codec file (fit one with 'flowmac fit-linear')`);
  if (meta.version !== LINEAR_VERSION) throw new UserError(`${source}: linear codec version ${meta.version} is not supported (this reader reads ${LINEAR_VERSION})`);
  let config: { bands: number; dim: number; stages: number; codebookSize: number };
  let fit: LinearFitInfo;
  try {
    config = JSON.parse(meta.config);
    fit = JSON.parse(meta.fit);
  } catch {
    throw new UserError(`${source}: corrupt linear codec metadata`);
  }
  const { bands, dim, stages, codebookSize } = config;
  checkShape(bands, dim, stages, codebookSize);
  const stats = parseMelStats(meta.mel_stats ?? "", source);
  if (stats.bands !== bands) throw new UserError(`${source}: mel statistics have ${stats.bands} bands, the codec ${bands}`);
  const tensor = (name: string, shape: number[]): Float32Array => {
    const t: NamedTensor | undefined = file.tensors.get(name);
    if (!t || t.dtype !== "F32" || t.shape.join(",") !== shape.join(","))
      throw new UserError(`${source}: tensor ${name} should be F32 [${shape}], found ${t ? `${t.dtype} [${t.shape}]` : "none"}`);
    return t.data as Float32Array;
  };
  return {
    stats,
    bands,
    dim,
    stages,
    codebookSize,
    mean: tensor("mean", [bands]),
    components: tensor("components", [dim, bands]),
    codebooks: tensor("codebooks", [stages, codebookSize, dim]),
    fit,
  };
}
