/**
 * Are block joins audible? Compares the decoded mel's frame-to-frame change
 * (mean over bands of |mel[t] - mel[t-1]|) in the regions where the
 * block-wise decoder cross-fades two blocks against the same quantity
 * elsewhere: the mean (a smeared mismatch) and the largest (a step). Ratios
 * near 1 mean the joins are no larger discontinuities than the signal's own.
 */
import { blockStarts, MARGIN } from "../model/pipeline.js";

export interface JoinStats {
  joins: number;
  meanAtJoins: number;
  meanElsewhere: number;
  meanRatio: number;
  maxAtJoins: number;
  maxElsewhere: number;
  maxRatio: number;
}

export function blockJoinStats(mel: Float32Array, frames: number, bands = 128): JoinStats {
  const delta = (t: number) => {
    let s = 0;
    for (let m = 0; m < bands; m++) s += Math.abs(mel[t * bands + m] - mel[(t - 1) * bands + m]);
    return s / bands;
  };
  const joinFrames = new Set<number>();
  for (const s of blockStarts(frames).slice(1)) for (let t = s - MARGIN; t <= s + MARGIN; t++) if (t >= 1 && t < frames) joinFrames.add(t);
  const at: number[] = [];
  const away: number[] = [];
  for (let t = 1; t < frames; t++) (joinFrames.has(t) ? at : away).push(delta(t));
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0);
  const max = (a: number[]) => (a.length ? Math.max(...a) : 0);
  const r = (a: number, b: number) => (b > 0 ? a / b : 0);
  return {
    joins: blockStarts(frames).length - 1,
    meanAtJoins: mean(at),
    meanElsewhere: mean(away),
    meanRatio: r(mean(at), mean(away)),
    maxAtJoins: max(at),
    maxElsewhere: max(away),
    maxRatio: r(max(at), max(away)),
  };
}
