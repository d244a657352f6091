/**
 * A plain folder of audio files decoded once for training: every file the
 * codec's encoder accepts (any format, rate and channel layout), streamed,
 * down-mixed and resampled to 24 kHz mono exactly as `flowmac encode` reads
 * it, is appended to one float32 audio file, its log-mel to one float32 mel
 * file, and an index records where each file's samples and frames start.
 * The cache is keyed by the file list with sizes and modification times; a
 * later run on the same folder reuses it. Files that do not decode, or are
 * shorter than MIN_SECONDS, are skipped with a note each.
 */
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { createHash } from "node:crypto";
import { join, relative, sep } from "node:path";
import { listAudioFiles } from "../audio/files.js";
import { SAMPLE_RATE } from "../audio/load.js";
import { FLOWMAC_MEL, MelFrontEnd } from "../audio/mel.js";
import { MelStream } from "../audio/mel-stream.js";
import { openAudioStream } from "../audio/stream.js";
import { UserError } from "../util/errors.js";
import { writeFileAtomic } from "../util/files.js";
import { plural } from "../util/plural.js";
import { BANDS } from "./clip.js";
import { writeFloats } from "./float-file.js";

/** Shorter files are skipped (the corpus builder's limit). */
export const MIN_SECONDS = 0.4;
const CACHE_VERSION = 1;

export interface CachedFile {
  /** Relative to the folder, '/'-separated. */
  path: string;
  samples: number;
  frames: number;
  /** Where the file starts in audio.f32 (samples) and mel.f32 (frames). */
  audioOffset: number;
  melOffset: number;
}

export interface FolderCache {
  dir: string;
  audioPath: string;
  melPath: string;
  files: CachedFile[];
  skipped: { path: string; why: string }[];
  reused: boolean;
}

interface CacheIndex {
  key: string;
  files: CachedFile[];
  skipped: { path: string; why: string }[];
}

export interface CacheOptions {
  log?: (message: string) => void;
  /** Called after each file while the cache is built. */
  progress?: (done: number, total: number) => void;
}

/** A duration for the logs: seconds, minutes or hours, whichever reads best. */
export function durationText(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(2)} h`;
}


function posixRelative(root: string, path: string): string {
  return relative(root, path).split(sep).join("/");
}

/** What the cache depends on: the files (names, sizes, mtimes) and how they are decoded. */
function cacheKey(root: string, paths: string[]): string {
  const files = paths.map((p) => {
    const st = statSync(p);
    return [posixRelative(root, p), st.size, st.mtimeMs];
  });
  const what = { version: CACHE_VERSION, rate: SAMPLE_RATE, mel: FLOWMAC_MEL, minSeconds: MIN_SECONDS, files };
  return createHash("sha256").update(JSON.stringify(what)).digest("hex").slice(0, 32);
}

function readIndex(path: string): CacheIndex | null {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as CacheIndex;
  } catch {
    return null;
  }
}

/** The message of a decoding error without the file name it starts with. */
function reason(message: string, path: string): string {
  return message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
}

/** Decodes one file onto the ends of the cache files; why not when it is too short. */
async function appendFile(path: string, audioFd: number, melFd: number, audioOffset: number, melOffset: number, fe: MelFrontEnd): Promise<{ samples: number; frames: number } | string> {
  const stream = await openAudioStream(path);
  if (stream.length < MIN_SECONDS * SAMPLE_RATE) {
    for await (const _ of stream.chunks()); // closes the file
    return `too short (${(stream.length / SAMPLE_RATE).toFixed(2)} s < ${MIN_SECONDS} s)`;
  }
  const mel = new MelStream(fe, stream.length);
  let samples = 0;
  let frames = 0;
  const writeMel = (m: Float32Array) => {
    writeFloats(melFd, m, (melOffset + frames) * BANDS);
    frames += m.length / BANDS;
  };
  for await (const chunk of stream.chunks()) {
    writeFloats(audioFd, chunk, audioOffset + samples);
    samples += chunk.length;
    writeMel(mel.push(chunk));
  }
  writeMel(mel.finish());
  return { samples, frames };
}

async function buildCache(root: string, paths: string[], key: string, c: Omit<FolderCache, "files" | "skipped" | "reused">, o: CacheOptions): Promise<CacheIndex> {
  const log = o.log ?? (() => {});
  const fe = new MelFrontEnd();
  const files: CachedFile[] = [];
  const skipped: { path: string; why: string }[] = [];
  const audioTmp = `${c.audioPath}.tmp`;
  const melTmp = `${c.melPath}.tmp`;
  const audioFd = openSync(audioTmp, "w");
  const melFd = openSync(melTmp, "w");
  let audioOffset = 0;
  let melOffset = 0;
  try {
    for (const [i, p] of paths.entries()) {
      const rel = posixRelative(root, p);
      try {
        const got = await appendFile(p, audioFd, melFd, audioOffset, melOffset, fe);
        if (typeof got === "string") {
          skipped.push({ path: rel, why: got });
          log(`skipped ${rel}: ${got}`);
        } else {
          files.push({ path: rel, ...got, audioOffset, melOffset });
          audioOffset += got.samples;
          melOffset += got.frames;
        }
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
        // A file that fails part-way leaves bytes past the offsets: the next file overwrites them.
        skipped.push({ path: rel, why: reason(e.message, p) });
        log(`skipped ${rel}: ${reason(e.message, p)}`);
      }
      o.progress?.(i + 1, paths.length);
    }
    ftruncateSync(audioFd, audioOffset * 4);
    ftruncateSync(melFd, melOffset * BANDS * 4);
  } finally {
    closeSync(audioFd);
    closeSync(melFd);
  }
  renameSync(audioTmp, c.audioPath);
  renameSync(melTmp, c.melPath);
  const index = { key, files, skipped };
  writeFileAtomic(join(c.dir, "index.json"), JSON.stringify(index) + "\n");
  return index;
}

/** The decoded folder: reused from `cacheDir` when its key matches, otherwise (re)built there. */
export async function folderCache(root: string, cacheDir: string, o: CacheOptions = {}): Promise<FolderCache> {
  const log = o.log ?? (() => {});
  const paths = listAudioFiles([root]);
  const key = cacheKey(root, paths);
  const c = { dir: cacheDir, audioPath: join(cacheDir, "audio.f32"), melPath: join(cacheDir, "mel.f32") };
  const indexPath = join(cacheDir, "index.json");
  const old = existsSync(indexPath) ? readIndex(indexPath) : null;
  const sizesMatch = (idx: CacheIndex) => {
    const samples = idx.files.reduce((s, f) => s + f.samples, 0);
    const frames = idx.files.reduce((s, f) => s + f.frames, 0);
    return existsSync(c.audioPath) && existsSync(c.melPath) && statSync(c.audioPath).size === samples * 4 && statSync(c.melPath).size === frames * BANDS * 4;
  };
  const t0 = Date.now();
  let index: CacheIndex;
  const reused = old !== null && old.key === key && sizesMatch(old);
  if (reused) {
    index = old;
    for (const s of index.skipped) log(`skipped ${s.path}: ${s.why}`);
  } else {
    mkdirSync(cacheDir, { recursive: true });
    rmSync(indexPath, { force: true }); // an interrupted rebuild must not leave a valid-looking index
    index = await buildCache(root, paths, key, c, o);
  }
  const seconds = index.files.reduce((s, f) => s + f.samples, 0) / SAMPLE_RATE;
  const what = `${plural(index.files.length, "file")}, ${durationText(seconds)}, ${index.skipped.length} skipped`;
  log(reused ? `data cache: reused ${cacheDir} (${what})` : `data cache: decoded ${root} into ${cacheDir} (${what}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return { ...c, files: index.files, skipped: index.skipped, reused };
}
