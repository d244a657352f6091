/**
 * The frames new RVQ stages are fitted on: the residual a codec's existing
 * stages leave on the encoder latents of training clips. The encoder runs on
 * whole clips (its latents depend on context), so the cap on frames is met by
 * taking evenly spaced whole clips rather than evenly spaced frames; the
 * selection is deterministic and keeps every kind of clip in proportion.
 */
import type { LatentProbe } from "../model/latents.js";
import { clipMel, type Clip } from "./data.js";

export interface ResidualSample {
  /** Residuals [n, dim]. */
  residual: Float32Array;
  n: number;
  /** Clips used, and frames in all the clips. */
  clips: number;
  total: number;
}

/** Evenly spaced clips whose frames add up to about `maxFrames` (all of them when they hold fewer). */
export function spacedClips(clips: Clip[], maxFrames: number): Clip[] {
  const total = clips.reduce((s, c) => s + c.frames, 0);
  if (total <= maxFrames) return clips;
  const want = Math.max(1, Math.round((clips.length * maxFrames) / total));
  return Array.from({ length: want }, (_, i) => clips[Math.floor((i * clips.length) / want)]);
}

export function stageResiduals(probe: LatentProbe, clips: Clip[], dim: number, maxFrames: number, onClip?: (done: number, of: number) => void): ResidualSample {
  const picked = spacedClips(clips, maxFrames);
  const n = picked.reduce((s, c) => s + c.frames, 0);
  const residual = new Float32Array(n * dim);
  let at = 0;
  for (const [i, clip] of picked.entries()) {
    const mel = clipMel(clip);
    residual.set(probe.latents(mel.data, mel.frames).residual, at * dim);
    at += mel.frames;
    onClip?.(i + 1, picked.length);
  }
  return { residual, n, clips: picked.length, total: clips.reduce((s, c) => s + c.frames, 0) };
}

/** The encoder latents of evenly spaced whole clips, clip by clip (a predictor needs each clip's frames in order). */
export function clipLatents(probe: LatentProbe, clips: Clip[], maxFrames: number, onClip?: (done: number, of: number) => void): { z: Float32Array; frames: number }[] {
  const picked = spacedClips(clips, maxFrames);
  return picked.map((clip, i) => {
    const mel = clipMel(clip);
    const out = { z: probe.latents(mel.data, mel.frames).z, frames: mel.frames };
    onClip?.(i + 1, picked.length);
    return out;
  });
}
