/**
 * The frames a linear codec is fitted on: every training clip's normalised
 * log-mel, evenly subsampled to a cap so that fitting time stays bounded
 * (k-means costs frames x codebook size per iteration). Even spacing keeps
 * every clip and kind in proportion and is deterministic.
 */
import { normalizeMel, type MelStats } from "../audio/stats.js";
import { clipMel, type Clip } from "./data.js";

export interface FrameSample {
  /** Normalised frames [n, bands]. */
  frames: Float32Array;
  n: number;
  /** Frames in the clips before subsampling. */
  total: number;
}

export function sampleNormalisedFrames(clips: Clip[], stats: MelStats, maxFrames: number): FrameSample {
  const bands = stats.bands;
  const total = clips.reduce((s, c) => s + c.frames, 0);
  const n = Math.min(total, maxFrames);
  const frames = new Float32Array(n * bands);
  let next = 0; // index of the next sample to take
  let offset = 0; // global index of the current clip's first frame
  for (const clip of clips) {
    const norm = normalizeMel(clipMel(clip), stats).data; // one clip in memory at a time
    // Sample i takes global frame floor(i * total / n).
    for (; next < n; next++) {
      const g = Math.floor((next * total) / n);
      if (g >= offset + clip.frames) break;
      frames.set(norm.subarray((g - offset) * bands, (g - offset + 1) * bands), next * bands);
    }
    offset += clip.frames;
  }
  return { frames, n, total };
}
