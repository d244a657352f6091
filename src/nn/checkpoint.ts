/**
 * Checkpoints are single safetensors files: weights ("params.*"), optionally
 * the EMA weights ("ema.*"), Adam moments ("opt.m.*", "opt.v.*"), the step and
 * RNG states ("state.*"), with the model config as JSON in the metadata. A
 * weights-only file (what ships in models/) has just "params.*".
 */
import { readFileSync } from "node:fs";
import { UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/files.js";
import { parseSafeTensors, serializeSafeTensors, type TensorData } from "../util/safetensors.js";
import type { AdamState } from "./optim.js";
import { fromHost, ParamError, toHost, type Params } from "./params.js";
import { tree } from "./runtime.js";

export const CHECKPOINT_FORMAT = "flowmac-checkpoint";
export const CHECKPOINT_VERSION = "1";

export interface CheckpointContents {
  /** What kind of model this is ("codec", "vocoder", ...): checked on load. */
  model: string;
  config: unknown;
  params: Params;
  ema?: Params;
  opt?: AdamState;
  /** Named host states (RNGs, data-loader positions), stored as float64. */
  state?: Record<string, ArrayLike<number>>;
  /** Free-form string metadata (run info, losses). */
  info?: Record<string, string>;
}

export function serializeCheckpoint(c: CheckpointContents): Uint8Array {
  const tensors: [string, { shape: number[]; data: TensorData }][] = [];
  const add = (prefix: string, p: Params) => {
    for (const [name, t] of toHost(p)) tensors.push([`${prefix}.${name}`, t]);
  };
  add("params", c.params);
  if (c.ema) add("ema", c.ema);
  if (c.opt) {
    add("opt.m", c.opt.m);
    add("opt.v", c.opt.v);
    tensors.push(["state.opt_step", { shape: [1], data: Float64Array.from([c.opt.step]) }]);
  }
  for (const [k, v] of Object.entries(c.state ?? {})) tensors.push([`state.${k}`, { shape: [v.length], data: Float64Array.from(v) }]);
  const metadata = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: c.model,
    config: JSON.stringify(c.config),
    ...(c.info ?? {}),
  };
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

function restore<T extends Params>(file: LoadedFile, like: T, prefix: string): T {
  // Only the tensors under this prefix take part in the name check.
  const sub = new Map([...file.tensors].filter(([k]) => k.startsWith(prefix + ".")));
  try {
    return fromHost(like, sub, file.source, prefix + ".");
  } catch (e) {
    if (e instanceof ParamError) throw new UserError(e.message);
    throw e;
  }
}

export function hasGroup(file: LoadedFile, prefix: string): boolean {
  for (const k of file.tensors.keys()) if (k.startsWith(prefix + ".")) return true;
  return false;
}

/** Weights shaped like `like` (whose arrays are disposed). Uses "ema.*" when asked and present. */
export function restoreParams<T extends Params>(file: LoadedFile, like: T, useEma = false): T {
  const prefix = useEma && hasGroup(file, "ema") ? "ema" : "params";
  const out = restore(file, like, prefix);
  tree.dispose(like);
  return out;
}

export function restoreEma<T extends Params>(file: LoadedFile, like: T): T | undefined {
  if (!hasGroup(file, "ema")) return undefined;
  return restore(file, like, "ema");
}

/** Adam moments and step, or undefined for a weights-only file. `like` is not consumed. */
export function restoreAdam(file: LoadedFile, like: Params): AdamState | undefined {
  if (!hasGroup(file, "opt.m")) return undefined;
  const step = file.tensors.get("state.opt_step")?.data[0] ?? 0;
  return { step, m: restore(file, like, "opt.m"), v: restore(file, like, "opt.v") };
}

export function restoreState(file: LoadedFile, name: string): Float64Array | undefined {
  const t = file.tensors.get(`state.${name}`);
  return t ? Float64Array.from(t.data) : undefined;
}
