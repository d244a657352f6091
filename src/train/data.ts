/**
 * Training data: the corpus manifest, its clips held in memory as 24 kHz
 * float32, and their log-mels (computed once and cached next to the corpus,
 * keyed by the clip list). Batches are random crops; clips are drawn with
 * weights per kind so that real recordings are weighted up.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readWav } from "../audio/wav.js";
import { MelFrontEnd, type LogMel } from "../audio/mel.js";
import type { ClipKind, ManifestEntry } from "../corpus/build.js";
import type { Rng } from "../nn/rng.js";
import { UserError } from "../util/errors.js";

export const HOP = 512;

export interface Clip {
  entry: ManifestEntry;
  audio: Float32Array;
  mel: LogMel;
}

/** Share of training draws per kind (real recordings weighted above their share of hours). */
export const KIND_WEIGHTS: Record<ClipKind, number> = {
  "speech-real": 0.45,
  "music-real": 0.25,
  "speech-synthetic": 0.15,
  "music-synthetic": 0.15,
};

export function readManifest(dir: string): ManifestEntry[] {
  const path = join(dir, "manifest.jsonl");
  if (!existsSync(path)) throw new UserError(`${dir}: no manifest.jsonl (build a corpus with 'flowmac corpus', or pass a directory of audio files)`);
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as ManifestEntry);
}

function fnv(s: string): string {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h.toString(16);
}

/** Loads the clips of one split, with mels from the on-disk cache when it matches. */
export function loadClips(dir: string, split: "train" | "validation", log: (m: string) => void = () => {}): Clip[] {
  const entries = readManifest(dir).filter((e) => e.split === split);
  if (entries.length === 0) throw new UserError(`${dir}: the ${split} split is empty`);
  const fe = new MelFrontEnd();
  const key = fnv(entries.map((e) => `${e.id}:${e.seconds}`).join("|"));
  const cachePath = join(dir, `mels-${split}-${key}.bin`);
  const cached = existsSync(cachePath) ? new Float32Array(readFileSync(cachePath).buffer.slice(0)) : null;
  let offset = 0;
  const clips: Clip[] = [];
  const t0 = Date.now();
  for (const entry of entries) {
    const wav = readWav(new Uint8Array(readFileSync(join(dir, entry.path))), entry.path);
    if (wav.sampleRate !== 24000) throw new UserError(`${entry.path}: corpus clips must be 24 kHz`);
    const audio = wav.channels[0];
    const frames = fe.frameCount(audio.length);
    let mel: LogMel;
    if (cached) {
      mel = { frames, bands: 128, data: cached.subarray(offset, offset + frames * 128) };
      offset += frames * 128;
    } else mel = fe.compute(audio);
    clips.push({ entry, audio, mel });
  }
  if (!cached) {
    const all = new Float32Array(clips.reduce((n, c) => n + c.mel.data.length, 0));
    let p = 0;
    for (const c of clips) {
      all.set(c.mel.data, p);
      p += c.mel.data.length;
    }
    writeFileSync(cachePath, new Uint8Array(all.buffer));
  }
  const hours = clips.reduce((s, c) => s + c.audio.length, 0) / 24000 / 3600;
  log(`${split}: ${clips.length} clips, ${hours.toFixed(2)} h (${((Date.now() - t0) / 1000).toFixed(0)} s to load)`);
  return clips;
}

/** Draws clips with probability proportional to kind weight x duration share within the kind. */
export class ClipSampler {
  private cum: Float64Array;
  constructor(readonly clips: Clip[], minFrames: number) {
    const byKind = new Map<ClipKind, number>();
    const ok = clips.map((c) => c.mel.frames >= minFrames);
    clips.forEach((c, i) => ok[i] && byKind.set(c.entry.kind, (byKind.get(c.entry.kind) ?? 0) + c.mel.frames));
    if (byKind.size === 0) throw new UserError(`no clip is long enough for crops of ${minFrames} frames`);
    const wsum = [...byKind.keys()].reduce((s, k) => s + KIND_WEIGHTS[k], 0);
    this.cum = new Float64Array(clips.length);
    let acc = 0;
    clips.forEach((c, i) => {
      if (ok[i]) acc += (KIND_WEIGHTS[c.entry.kind] / wsum) * (c.mel.frames / byKind.get(c.entry.kind)!);
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

/** A crop of `frames` mel frames starting at frame f0, and the audio from f0*hop for frames*hop samples. */
export function cropAt(clip: Clip, f0: number, frames: number): { mel: Float32Array; audio: Float32Array } {
  const mel = clip.mel.data.subarray(f0 * 128, (f0 + frames) * 128);
  const audio = new Float32Array(frames * HOP);
  const src = clip.audio.subarray(f0 * HOP, Math.min(clip.audio.length, (f0 + frames) * HOP));
  audio.set(src);
  return { mel, audio };
}

export function randomCrop(clip: Clip, frames: number, rng: Rng): { mel: Float32Array; audio: Float32Array } {
  return cropAt(clip, rng.int(clip.mel.frames - frames + 1), frames);
}
