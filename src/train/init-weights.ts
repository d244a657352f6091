/**
 * Where fine-tuning starts: `--init` names a model directory (codec.safetensors
 * and vocoder.safetensors, as in models/default), 'default' (or nothing) for
 * the bundled model, or one weights or checkpoint file (e.g. a run's
 * weights.safetensors). The model config, and for the codec the mel
 * statistics, come from that file.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseMelStats, type MelStats } from "../audio/stats.js";
import { DEFAULT_MODEL_DIR } from "../model/load.js";
import { readCheckpointFile, type LoadedFile } from "../nn/checkpoint.js";
import { UserError } from "../util/errors.js";

/** The weights file `--init <value>` names for `model` (a bare --init gives true). */
export function initWeightsPath(init: string | true, model: "codec" | "vocoder"): string {
  const path = init === true || init === "default" ? DEFAULT_MODEL_DIR : init;
  if (!existsSync(path)) throw new UserError(`${path}: no such model directory or weights file`);
  if (!statSync(path).isDirectory()) return path;
  const file = join(path, `${model}.safetensors`);
  if (!existsSync(file)) throw new UserError(`${path}: not a model directory (missing ${model}.safetensors)`);
  return file;
}

export function readInitWeights(init: string | true, model: "codec" | "vocoder"): LoadedFile {
  return readCheckpointFile(initWeightsPath(init, model), model);
}

/** The name of the model config a weights file holds. */
export function configNameOf(file: LoadedFile): string {
  return String((file.config as { name?: unknown })?.name ?? "");
}

/** The mel statistics the codec weights were trained with (what the model normalises by). */
export function melStatsOf(file: LoadedFile): MelStats {
  if (!file.metadata.mel_stats) throw new UserError(`${file.source}: codec weights carry no mel statistics`);
  return parseMelStats(file.metadata.mel_stats, file.source);
}
