/**
 * Training data: a corpus made by 'flowmac corpus' (manifest.jsonl) or any
 * folder of audio files, as clips whose crops are read from disk (clip.ts).
 * Batches are random crops; clips are drawn with weights per kind so that
 * real recordings are weighted up.
 */
import { existsSync, statSync } from "node:fs";
import type { ClipKind } from "../corpus/build.js";
import type { Rng } from "../nn/rng.js";
import { UserError } from "../util/errors.js";
import type { Clip } from "./clip.js";
import { isCorpusDir, loadClips, readManifest } from "./corpus-clips.js";
import type { CacheOptions } from "./folder-cache.js";
import { loadFolderClips } from "./folder-clips.js";

export { BANDS, clipMel, cropAt, HOP, memoryClip, randomCrop, type Clip, type Crop } from "./clip.js";
export { loadClips, readManifest } from "./corpus-clips.js";

/** Share of training draws per kind (real recordings weighted above their share of hours). */
export const KIND_WEIGHTS: Record<ClipKind, number> = {
  "speech-real": 0.45,
  "music-real": 0.25,
  "speech-synthetic": 0.15,
  "music-synthetic": 0.15,
};

export const DEFAULT_VAL_FRACTION = 0.05;

export interface TrainingData {
  train: Clip[];
  val: Clip[];
  /** A corpus's held-out speakers (its "unseen" split), loaded on the call; empty for a plain folder or a corpus without them. */
  heldOut(): Clip[];
  kind: "corpus" | "folder";
}

export interface DataOptions extends CacheOptions {
  /** Where a plain folder's decoded audio and mels are cached (e.g. <run>/data-cache). */
  cacheDir: string;
  /** Share of a plain folder's files held out for validation (a corpus has its own split). */
  valFraction?: number;
}

/** The train and validation clips of a corpus directory or of a plain folder of audio. */
export async function openTrainingData(dir: string, o: DataOptions): Promise<TrainingData> {
  if (!existsSync(dir)) throw new UserError(`${dir}: no such directory`);
  if (!statSync(dir).isDirectory()) throw new UserError(`${dir}: not a directory (pass a folder of audio files or a corpus)`);
  if (isCorpusDir(dir)) {
    const heldOut = () => (readManifest(dir).some((e) => e.split === "unseen") ? loadClips(dir, "unseen", o.log) : []);
    return { train: loadClips(dir, "train", o.log), val: loadClips(dir, "validation", o.log), heldOut, kind: "corpus" };
  }
  const { train, val } = await loadFolderClips(dir, o.cacheDir, o.valFraction ?? DEFAULT_VAL_FRACTION, o);
  return { train, val, heldOut: () => [], kind: "folder" };
}

/** How the sampler shares its draws: per kind, and between the sources of a kind. */
export interface SamplingOptions {
  /** Share of draws per kind (default KIND_WEIGHTS); kinds left out keep their default weight. */
  kindWeights?: Partial<Record<ClipKind, number>>;
  /**
   * Within a kind, a source's share of the draws goes as (its share of the kind's hours)^b: 1 (the
   * default) draws by duration, 0 gives every source (speaker, voice set, package) the same share,
   * so one long reader does not stand for most of the speech.
   */
  sourceBalance?: number;
}

/**
 * Draws clips with probability proportional to kind weight x source share within the kind
 * (duration^sourceBalance, normalised) x duration share within the source.
 */
export class ClipSampler {
  private cum: Float64Array;
  constructor(
    readonly clips: Clip[],
    minFrames: number,
    o: SamplingOptions = {},
  ) {
    const weights = { ...KIND_WEIGHTS, ...o.kindWeights };
    const b = o.sourceBalance ?? 1;
    const ok = clips.map((c) => c.frames >= minFrames);
    const bySource = new Map<string, number>();
    const keyOf = (c: Clip) => `${c.entry.kind}\u0000${c.entry.source}`;
    clips.forEach((c, i) => ok[i] && bySource.set(keyOf(c), (bySource.get(keyOf(c)) ?? 0) + c.frames));
    if (bySource.size === 0) throw new UserError(`no clip is long enough for crops of ${minFrames} frames`);
    // Each source's share of its kind: frames^b, normalised within the kind.
    const kindTotal = new Map<ClipKind, number>();
    for (const [key, frames] of bySource) {
      const kind = key.split("\u0000")[0] as ClipKind;
      kindTotal.set(kind, (kindTotal.get(kind) ?? 0) + frames ** b);
    }
    const wsum = [...kindTotal.keys()].reduce((s, k) => s + weights[k], 0);
    this.cum = new Float64Array(clips.length);
    let acc = 0;
    clips.forEach((c, i) => {
      if (ok[i]) {
        const source = bySource.get(keyOf(c))!;
        acc += (weights[c.entry.kind] / wsum) * (source ** b / kindTotal.get(c.entry.kind)!) * (c.frames / source);
      }
      this.cum[i] = acc;
    });
  }

  pick(rng: Rng): Clip {
    const r = rng.uniform() * this.cum[this.cum.length - 1];
    let lo = 0;
    let hi = this.cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cum[mid] > r) hi = mid;
      else lo = mid + 1;
    }
    return this.clips[lo];
  }
}
