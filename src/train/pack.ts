/**
 * Crops for clips shorter than a crop. A third of the corpus's training clips
 * (2370 of 6538 at 64 frames: the short voice lines of the game voices, single
 * words, telephone prompts) are shorter than the codec's crop, and they hold
 * most of its speakers. Packed, such a clip fills the crop's start and clips of
 * its own source (the same voice pack or reader) fill the rest, as language
 * models pack short documents. The codec's loss is per frame, so a join costs a
 * frame or two of odd context, while the crop brings voices the sampler would
 * otherwise never draw.
 */
import type { Rng } from "../nn/rng.js";
import { BANDS, type Clip } from "./clip.js";

/** Clips shorter than this (0.17 s) are left out even when packing: too short to be a voice line. */
export const MIN_PACKED_FRAMES = 8;

export class ClipPacker {
  private readonly bySource = new Map<string, Clip[]>();

  constructor(clips: Clip[]) {
    for (const c of clips) {
      if (c.frames < MIN_PACKED_FRAMES) continue;
      const list = this.bySource.get(c.entry.source) ?? [];
      list.push(c);
      this.bySource.set(c.entry.source, list);
    }
  }

  /**
   * A crop of `frames` mel frames [frames x BANDS] that starts with `first`:
   * a random window of it when it is long enough; else all of it, then random
   * windows of clips drawn uniformly from its source until the crop is full.
   */
  crop(first: Clip, frames: number, rng: Rng): Float32Array {
    if (first.frames >= frames) return first.mel(rng.int(first.frames - frames + 1), frames).slice();
    const out = new Float32Array(frames * BANDS);
    const mates = this.bySource.get(first.entry.source) ?? [first];
    let clip = first;
    let filled = 0;
    for (;;) {
      const n = Math.min(clip.frames, frames - filled);
      out.set(clip.mel(clip === first ? 0 : rng.int(clip.frames - n + 1), n), filled * BANDS);
      filled += n;
      if (filled === frames) return out;
      clip = mates[rng.int(mates.length)];
    }
  }
}
