/**
 * Are block joins audible? Compares the decoded mel's frame-to-frame change
 * (mean |mel[t] - mel[t-1]| over bands) at the frames where the block-wise
 * decoder joins blocks against the same quantity everywhere else. A ratio near
 * 1 means the joins are no larger discontinuities than the signal's own.
 */
import { blockStarts, MARGIN } from "../model/pipeline.js";

export interface JoinStats {
  /** Mean frame-to-frame change across the cross-faded join regions. */
  atJoins: number;
  /** Mean frame-to-frame change elsewhere. */
  elsewhere: number;
  ratio: number;
  joins: number;
}

export function blockJoinStats(mel: Float32Array, frames: number, bands = 128): JoinStats {
  const delta = (t: number) => {
    let s = 0;
    for (let m = 0; m < bands; m++) s += Math.abs(mel[t * bands + m] - mel[(t - 1) * bands + m]);
    return s / bands;
  };
  // Frames whose mel was cross-faded between two blocks: MARGIN either side of each core boundary.
  const joinFrames = new Set<number>();
  for (const s of blockStarts(frames).slice(1)) for (let t = s - MARGIN; t <= s + MARGIN; t++) if (t >= 1 && t < frames) joinFrames.add(t);
  let a = 0;
  let na = 0;
  let b = 0;
  let nb = 0;
  for (let t = 1; t < frames; t++) {
    if (joinFrames.has(t)) {
      a += delta(t);
      na++;
    } else {
      b += delta(t);
      nb++;
    }
  }
  const atJoins = na ? a / na : 0;
  const elsewhere = nb ? b / nb : 0;
  return { atJoins, elsewhere, ratio: elsewhere > 0 ? atJoins / elsewhere : 0, joins: blockStarts(frames).length - 1 };
}

