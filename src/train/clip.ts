/**
 * A training clip: its manifest entry, its length, and random access to its
 * log-mel frames and audio. Clips read their crops from disk on demand (see
 * corpus-clips.ts and folder-clips.ts), so training on tens of hours holds no
 * audio in memory; memoryClip serves tests and benchmarks.
 */
import type { LogMel } from "../audio/mel.js";
import type { ManifestEntry } from "../corpus/build.js";
import type { Rng } from "../nn/rng.js";

export const HOP = 512;
export const BANDS = 128;

export interface Clip {
  entry: ManifestEntry;
  /** Mel frames of the whole clip (the centred STFT's floor(samples / HOP) + 1). */
  frames: number;
  /** Samples at 24 kHz. */
  samples: number;
  /** Mel frames [f0, f0 + n), time-major (n x 128). */
  mel(f0: number, n: number): Float32Array;
  /** Samples [start, start + n), zeros past the clip's end. */
  audio(start: number, n: number): Float32Array;
}

export interface Crop {
  mel: Float32Array;
  audio: Float32Array;
}

/** A clip held in memory. */
export function memoryClip(entry: ManifestEntry, audio: Float32Array, mel: LogMel): Clip {
  return {
    entry,
    frames: mel.frames,
    samples: audio.length,
    mel: (f0, n) => mel.data.subarray(f0 * BANDS, (f0 + n) * BANDS),
    audio: (start, n) => zeroPadded(audio.subarray(start, Math.min(audio.length, start + n)), n),
  };
}

/** The whole clip's log-mel (read once, e.g. for statistics). */
export function clipMel(clip: Clip): LogMel {
  return { frames: clip.frames, bands: BANDS, data: clip.mel(0, clip.frames) };
}

/** `x` copied into a fresh array of length n (zeros after it). */
export function zeroPadded(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  out.set(x.subarray(0, n));
  return out;
}

/** A crop of `frames` mel frames starting at frame f0, and the audio from f0*hop for frames*hop samples. */
export function cropAt(clip: Clip, f0: number, frames: number): Crop {
  return { mel: clip.mel(f0, frames), audio: clip.audio(f0 * HOP, frames * HOP) };
}

export function randomCrop(clip: Clip, frames: number, rng: Rng): Crop {
  return cropAt(clip, rng.int(clip.frames - frames + 1), frames);
}
