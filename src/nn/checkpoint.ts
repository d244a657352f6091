/**
 * Checkpoints are single safetensors files. Named parameter trees are stored
 * under prefixes ("params.*", "ema.*", "opt.m.*", "opt.v.*", "buffers.*"),
 * host states (step counters, RNGs) as float64 vectors under "state.*", and
 * the model kind and config as JSON in the metadata. A weights-only file
 * (what ships in models/) has just "params.*" and "buffers.*".
 */
import { readFileSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/files.js";
import { parseSafeTensors, serializeSafeTensors, type TensorData } from "../util/safetensors.js";
import { fromHost, ParamError, toHost, type Params } from "./params.js";

export const CHECKPOINT_FORMAT = "flowmac-checkpoint";
export const CHECKPOINT_VERSION = "1";

/** Host tensors by name: what optimiser state and EMA weights are kept as. */
export type HostTree = Map<string, { shape: number[]; data: TensorData }>;

export function hostTree(names: string[], shapes: number[][], data: Float32Array[]): HostTree {
  return new Map(names.map((n, i) => [n, { shape: shapes[i], data: data[i] }]));
}

export interface CheckpointContents {
  /** What kind of model this is ("codec", "vocoder"): checked on load. */
  model: string;
  config: unknown;
  trees: Record<string, Params | HostTree>;
  state?: Record<string, ArrayLike<number>>;
  /** Free-form string metadata (run info, losses). */
  info?: Record<string, string>;
}

export function serializeCheckpoint(c: CheckpointContents): Uint8Array {
  const tensors: [string, { shape: number[]; data: TensorData }][] = [];
  for (const [prefix, tree] of Object.entries(c.trees))
    for (const [name, t] of tree instanceof Map ? tree : toHost(tree)) tensors.push([`${prefix}.${name}`, t]);
  for (const [k, v] of Object.entries(c.state ?? {})) tensors.push([`state.${k}`, { shape: [v.length], data: Float64Array.from(v) }]);
  const metadata = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, model: c.model, config: JSON.stringify(c.config), ...(c.info ?? {}) };
  return serializeSafeTensors(tensors, metadata);
}

export function saveCheckpoint(path: string, c: CheckpointContents): void {
  writeFileAtomic(path, serializeCheckpoint(c));
}

export interface LoadedFile {
  source: string;
  model: string;
  config: unknown;
  metadata: Record<string, string>;
  tensors: Map<string, { shape: number[]; data: TensorData }>;
}

/** Reads and validates a checkpoint or weights file; `model` is the expected kind. */
export function readCheckpointFile(path: string, model: string): LoadedFile {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch {
    throw new UserError(`${path}: cannot read model file`);
  }
  return parseCheckpoint(bytes, path, model);
}

export function parseCheckpoint(bytes: Uint8Array, source: string, model: string): LoadedFile {
  const { tensors, metadata } = parseSafeTensors(bytes, source);
  if (metadata.format !== CHECKPOINT_FORMAT) throw new UserError(`${source}: not a flowmac model file`);
  if (metadata.version !== CHECKPOINT_VERSION) throw new UserError(`${source}: model file version ${metadata.version} is not supported (need ${CHECKPOINT_VERSION})`);
  if (metadata.model !== model) throw new UserError(`${source}: holds a '${metadata.model}' model, expected '${model}'`);
  let config: unknown;
  try {
    config = JSON.parse(metadata.config);
  } catch {
    throw new UserError(`${source}: model config in the metadata is not JSON`);
  }
  return { source, model, config, metadata, tensors };
}

export function hasTree(file: LoadedFile, prefix: string): boolean {
  for (const k of file.tensors.keys()) if (k.startsWith(prefix + ".")) return true;
  return false;
}

/**
 * The tree stored under `prefix`, shaped like `like` (not consumed). Missing,
 * extra or mis-shaped tensors fail with an error naming the tensor.
 */
export function restoreTree<T extends Params>(file: LoadedFile, prefix: string, like: T): T {
  const sub = new Map([...file.tensors].filter(([k]) => k.startsWith(prefix + ".")));
  try {
    return fromHost(like, sub, file.source, prefix + ".");
  } catch (e) {
    if (e instanceof ParamError) throw new UserError(e.message);
    throw e;
  }
}

export function restoreState(file: LoadedFile, name: string): Float64Array | undefined {
  const t = file.tensors.get(`state.${name}`);
  return t ? Float64Array.from(t.data) : undefined;
}

/** Host buffers stored under `prefix` for the given names and shapes (an error names any missing or mis-shaped tensor). */
export function restoreHost(file: LoadedFile, prefix: string, names: string[], shapes: number[][]): Float32Array[] {
  return names.map((n, i) => {
    const t = file.tensors.get(`${prefix}.${n}`);
    if (!t) throw new UserError(`${file.source}: missing tensor '${prefix}.${n}'`);
    if (t.shape.length !== shapes[i].length || t.shape.some((d, j) => d !== shapes[i][j]))
      throw new UserError(`${file.source}: tensor '${prefix}.${n}' has shape [${t.shape}], expected [${shapes[i]}]`);
    return Float32Array.from(t.data);
  });
}
