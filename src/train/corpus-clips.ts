/**
 * The clips of a corpus made by 'flowmac corpus' (manifest.jsonl + 24 kHz WAV
 * files): crops are read from the WAV files and from the split's mel cache
 * (mels-<split>-<key>.bin next to the manifest, keyed by the clip list) at
 * their offsets, so a corpus of any size trains in bounded memory. Clip order,
 * split, lengths and the cache file are those of the in-memory loader this
 * replaces: runs resume on the same crops.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, renameSync, statSync } from "node:fs";
import { join } from "node:path";
import { MelFrontEnd } from "../audio/mel.js";
import { decodeWavFrames, parseWavHeader, readWav, type WavLayout } from "../audio/wav.js";
import type { ManifestEntry, Split } from "../corpus/build.js";
import { UserError } from "../util/errors.js";
import { fnv1a } from "../util/fnv.js";
import { BANDS, zeroPadded, type Clip } from "./clip.js";
import { readExactly, readFloats, writeFloats } from "./float-file.js";

export function readManifest(dir: string): ManifestEntry[] {
  const path = join(dir, "manifest.jsonl");
  if (!existsSync(path)) throw new UserError(`${dir}: no manifest.jsonl (build a corpus with 'flowmac corpus', or pass a directory of audio files)`);
  return readFileSync(path, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as ManifestEntry);
}

export function isCorpusDir(dir: string): boolean {
  return existsSync(join(dir, "manifest.jsonl"));
}

const fnv = (s: string): string => fnv1a(s).toString(16);

/** A corpus WAV clip: its header, read once, and crops of channel 0 read at their offsets. */
function wavClipAudio(path: string, source: string): { layout: WavLayout; audio: (start: number, n: number) => Float32Array } {
  const open = () => {
    try {
      return openSync(path, "r");
    } catch (e) {
      throw new UserError(`${source}: cannot read (${(e as Error).message})`);
    }
  };
  const fd = open();
  let layout: WavLayout;
  try {
    const size = fstatSync(fd).size;
    layout = parseWavHeader((pos, len) => {
      const b = new Uint8Array(Math.max(0, Math.min(len, size - pos)));
      readExactly(fd, b, pos, path);
      return b;
    }, size, source);
  } finally {
    closeSync(fd);
  }
  if (layout.sampleRate !== 24000) throw new UserError(`${source}: corpus clips must be 24 kHz`);
  const audio = (start: number, n: number): Float32Array => {
    const count = Math.max(0, Math.min(n, layout.frames - start));
    if (count === 0) return new Float32Array(n);
    const bytes = new Uint8Array(count * layout.blockAlign);
    const fd = open();
    try {
      readExactly(fd, bytes, layout.dataStart + start * layout.blockAlign, path);
    } finally {
      closeSync(fd);
    }
    return zeroPadded(decodeWavFrames(bytes, layout)[0], n);
  };
  return { layout, audio };
}

/** Computes every clip's log-mel into the cache file (written whole, then renamed into place). */
function writeMelCache(dir: string, entries: ManifestEntry[], offsets: number[], cachePath: string): void {
  const fe = new MelFrontEnd();
  const tmp = `${cachePath}.${process.pid}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    entries.forEach((e, i) => writeFloats(fd, fe.compute(readWav(new Uint8Array(readFileSync(join(dir, e.path))), e.path).channels[0]).data, offsets[i] * BANDS));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, cachePath);
}

/** The clips of one split, their mels from the on-disk cache (built first if missing). */
export function loadClips(dir: string, split: Split, log: (m: string) => void = () => {}): Clip[] {
  const entries = readManifest(dir).filter((e) => e.split === split);
  if (entries.length === 0) throw new UserError(`${dir}: the ${split} split is empty`);
  const t0 = Date.now();
  const fe = new MelFrontEnd();
  const wavs = entries.map((e) => wavClipAudio(join(dir, e.path), e.path));
  const frames = wavs.map((w) => fe.frameCount(w.layout.frames));
  const offsets: number[] = [];
  let total = 0;
  for (const f of frames) {
    offsets.push(total);
    total += f;
  }
  const key = fnv(entries.map((e) => `${e.id}:${e.seconds}`).join("|"));
  const cachePath = join(dir, `mels-${split}-${key}.bin`);
  if (!existsSync(cachePath) || statSync(cachePath).size !== total * BANDS * 4) writeMelCache(dir, entries, offsets, cachePath);
  const clips = entries.map((entry, i): Clip => ({
    entry,
    frames: frames[i],
    samples: wavs[i].layout.frames,
    mel: (f0, n) => readFloats(cachePath, (offsets[i] + f0) * BANDS, Math.max(0, Math.min(n, frames[i] - f0)) * BANDS),
    audio: wavs[i].audio,
  }));
  const hours = clips.reduce((s, c) => s + c.samples, 0) / 24000 / 3600;
  log(`${split}: ${clips.length} clips, ${hours.toFixed(2)} h (${((Date.now() - t0) / 1000).toFixed(0)} s to load)`);
  return clips;
}
