/**
 * Loading a trained FlowMAC model: codec weights (codec.safetensors, which
 * carry the mel statistics) and vocoder weights (vocoder.safetensors) from a
 * model directory or from bytes (browser). The bitstream's model id is the
 * first 8 bytes of the SHA-256 of the codec weights.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseMelStats, type MelStats } from "../audio/stats.js";
import { CODE_TABLES_TENSOR, codeModelOf, joinCodeTables } from "../bitstream/code-model.js";
import { parseCheckpoint, restoreTree, type LoadedFile } from "../nn/checkpoint.js";
import type { Params } from "../nn/params.js";
import { Rng } from "../nn/rng.js";
import { tree } from "../nn/runtime.js";
import { UserError } from "../util/errors.js";
import { parseSafeTensors } from "../util/safetensors.js";
import { initCodec, type CodecBuffers, type CodecParams } from "./codec.js";
import type { CodecConfig } from "./config.js";
import type { EngineInfo } from "./engine.js";
import { initAnyVocoder, type AnyVocoderConfig, type AnyVocoderParams } from "./vocoder.js";
import { predictiveInfo, predictiveOf } from "./predictive-store.js";

export const DEFAULT_MODEL_DIR = fileURLToPath(new URL("../../../models/default/", import.meta.url));

export interface ModelFiles {
  codec: Uint8Array;
  vocoder: Uint8Array;
  codecSource: string;
  vocoderSource: string;
}

export function readModelDir(dir: string): ModelFiles {
  const codecPath = join(dir, "codec.safetensors");
  const vocoderPath = join(dir, "vocoder.safetensors");
  for (const p of [codecPath, vocoderPath]) if (!existsSync(p)) throw new UserError(`${dir}: not a model directory (missing ${p.split("/").pop()})`);
  return { codec: new Uint8Array(readFileSync(codecPath)), vocoder: new Uint8Array(readFileSync(vocoderPath)), codecSource: codecPath, vocoderSource: vocoderPath };
}

/** The mel statistics a model directory's codec weights carry (without loading the weights). */
export function readModelMelStats(dir: string): MelStats {
  const path = join(dir, "codec.safetensors");
  if (!existsSync(path)) throw new UserError(`${dir}: not a model directory (missing codec.safetensors)`);
  const meta = parseSafeTensors(new Uint8Array(readFileSync(path)), path).metadata;
  if (!meta.mel_stats) throw new UserError(`${path}: codec weights carry no mel statistics`);
  return parseMelStats(meta.mel_stats, path);
}

/** A model's codec config alone, from the header of its weights file (no weights read: for help texts); null if unreadable. */
export function readCodecConfig(dir: string = DEFAULT_MODEL_DIR): CodecConfig | null {
  try {
    const fd = openSync(join(dir, "codec.safetensors"), "r");
    try {
      const size = Buffer.alloc(8);
      readSync(fd, size, 0, 8, 0);
      const n = Number(size.readBigUInt64LE());
      if (n > 1 << 24) return null;
      const header = Buffer.alloc(n);
      readSync(fd, header, 0, n, 8);
      return JSON.parse(JSON.parse(header.toString("utf8")).__metadata__.config) as CodecConfig;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

export async function modelIdOf(codecBytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest("SHA-256", codecBytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join("");
}

const VOCODER_KINDS: string[] = ["vocos", "bigvgan", "refiner"];

export interface LoadedModel {
  info: EngineInfo;
  codec: CodecParams;
  buffers: CodecBuffers;
  generator: AnyVocoderParams;
  codecFile: LoadedFile;
  vocoderFile: LoadedFile;
}

function restoreInto<T>(file: LoadedFile, prefix: string, like: T): T {
  const out = restoreTree(file, prefix, like as unknown as Params) as unknown as T;
  tree.dispose(like as any);
  return out;
}

/** `ids`: the files' model ids where the caller has hashed them already (openEngine's cache lookup). */
export async function loadModel(files: ModelFiles, ids?: { modelId: string; vocoderId: string }): Promise<LoadedModel> {
  const codecFile = parseCheckpoint(files.codec, files.codecSource, "codec");
  const vocoderFile = parseCheckpoint(files.vocoder, files.vocoderSource, "vocoder");
  const codecConfig = codecFile.config as CodecConfig;
  const vocoderConfig = vocoderFile.config as AnyVocoderConfig;
  const kind = vocoderConfig?.generator?.kind;
  if (!VOCODER_KINDS.includes(kind)) throw new UserError(`${files.vocoderSource}: unknown vocoder kind '${kind}' (known: ${VOCODER_KINDS.join(", ")})`);
  if (!codecFile.metadata.mel_stats) throw new UserError(`${files.codecSource}: codec weights carry no mel statistics`);
  const stats: MelStats = parseMelStats(codecFile.metadata.mel_stats, files.codecSource);
  const like = initCodec(new Rng(0), codecConfig);
  const codec = restoreInto(codecFile, "params.codec", like.params);
  const buffers = restoreInto(codecFile, "buffers", like.buffers);
  const generator = restoreInto(vocoderFile, "params.gen", initAnyVocoder(new Rng(0), vocoderConfig));
  const info: EngineInfo = { codec: codecConfig, vocoder: vocoderConfig, stats, modelId: ids?.modelId ?? (await modelIdOf(files.codec)), vocoderId: ids?.vocoderId ?? (await modelIdOf(files.vocoder)) };
  const header = codecFile.metadata.code_model;
  if (header !== undefined) {
    const rows = codecFile.tensors.get(CODE_TABLES_TENSOR);
    if (!rows || !(rows.data instanceof Uint8Array)) throw new UserError(`${files.codecSource}: corrupt code tables (no ${CODE_TABLES_TENSOR} tensor of bytes)`);
    const codeTables = joinCodeTables(header, rows.data);
    const m = codeModelOf({ codeTables }, files.codecSource)!;
    const K = codecConfig.rvq.codebookSize;
    if (m.symbols !== K) throw new UserError(`${files.codecSource}: code tables for ${m.symbols} entries, codebooks of ${K}`);
    info.codeTables = codeTables;
  }
  const predictive = predictiveInfo(codecFile.tensors, codecFile.metadata, files.codecSource);
  if (predictive !== undefined) {
    info.predictive = predictive;
    predictiveOf(info, files.codecSource); // a corrupt or mismatched one is refused here, not mid-stream
  }
  return { info, codec, buffers, generator, codecFile, vocoderFile };
}
