/**
 * Training clips from a plain folder of audio files: decoded once into the
 * run's data cache (folder-cache.ts), split by a hash of each file's path
 * (folder-split.ts), crops read from the cache files at their offsets.
 * Every file counts as one kind, so clips are drawn in proportion to their
 * duration.
 */
import { SAMPLE_RATE } from "../audio/load.js";
import type { ClipKind, ManifestEntry } from "../corpus/build.js";
import { UserError } from "../util/errors.js";
import { BANDS, zeroPadded, type Clip } from "./clip.js";
import { readFloats } from "./float-file.js";
import { plural } from "../util/plural.js";
import { durationText, folderCache, type CacheOptions, type CachedFile, type FolderCache } from "./folder-cache.js";
import { splitByPath } from "./folder-split.js";

/** The one kind a plain folder's files count as (the sampler's weights are per kind). */
export const FOLDER_KIND: ClipKind = "speech-real";

function cachedClip(cache: FolderCache, f: CachedFile, split: "train" | "validation"): Clip {
  const entry: ManifestEntry = { id: f.path, path: f.path, source: "folder", package: "-", licence: "unknown", kind: FOLDER_KIND, seconds: f.samples / SAMPLE_RATE, split };
  return {
    entry,
    frames: f.frames,
    samples: f.samples,
    mel: (f0, n) => readFloats(cache.melPath, (f.melOffset + f0) * BANDS, Math.max(0, Math.min(n, f.frames - f0)) * BANDS),
    audio: (start, n) => zeroPadded(readFloats(cache.audioPath, f.audioOffset + start, Math.max(0, Math.min(n, f.samples - start))), n),
  };
}

export interface FolderClips {
  train: Clip[];
  val: Clip[];
  cache: FolderCache;
}

export async function loadFolderClips(root: string, cacheDir: string, valFraction: number, o: CacheOptions = {}): Promise<FolderClips> {
  const cache = await folderCache(root, cacheDir, o);
  if (cache.files.length === 0) throw new UserError(`${root}: no usable audio (${plural(cache.skipped.length, "file")} skipped)`);
  const split = splitByPath(cache.files.map((f) => f.path), valFraction);
  const byPath = new Map(cache.files.map((f) => [f.path, f]));
  const train = split.train.map((p) => cachedClip(cache, byPath.get(p)!, "train"));
  const val = split.validation.map((p) => cachedClip(cache, byPath.get(p)!, "validation"));
  const duration = (clips: Clip[]) => durationText(clips.reduce((s, c) => s + c.samples, 0) / SAMPLE_RATE);
  const shared = cache.files.length === 1 ? " (the only file: it validates too)" : "";
  o.log?.(`train: ${plural(train.length, "file")}, ${duration(train)}; validation: ${plural(val.length, "file")}, ${duration(val)}${shared}`);
  return { train, val, cache };
}
