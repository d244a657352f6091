/**
 * The log-mel of a signal that arrives in pieces, in bounded memory: frames are
 * released as soon as the samples under their window have arrived, and the
 * result equals MelFrontEnd.compute on the whole signal bit for bit (the same
 * per-frame arithmetic; the reflect padding at the end needs the total length,
 * given up front).
 */
import type { MelFrontEnd } from "./mel.js";

export class MelStream {
  /** Frames of the whole signal. */
  readonly frames: number;
  private buf = new Float32Array(0);
  /** Signal index of buf[0]. */
  private bufStart = 0;
  private received = 0;
  private next = 0;

  constructor(
    private readonly fe: MelFrontEnd,
    readonly total: number,
  ) {
    this.frames = fe.frameCount(total);
  }

  /** Adds the next samples; returns the frames they complete (time-major, bands per frame). */
  push(x: Float32Array): Float32Array {
    if (this.received + x.length > this.total) throw new Error(`MelStream: more than the ${this.total} samples announced`);
    const keep = this.buf.subarray(this.keepFrom() - this.bufStart);
    const buf = new Float32Array(keep.length + x.length);
    buf.set(keep);
    buf.set(x, keep.length);
    this.bufStart = this.keepFrom();
    this.buf = buf;
    this.received += x.length;
    return this.release();
  }

  /** The last frames, once all `total` samples have been pushed. */
  finish(): Float32Array {
    if (this.received !== this.total) throw new Error(`MelStream: ${this.received} samples pushed, ${this.total} announced`);
    return this.release();
  }

  /** Samples before this index are no longer needed (a margin of a whole window covers the reflect padding). */
  private keepFrom(): number {
    return Math.max(0, Math.min(this.received, this.next * this.fe.config.hop - this.fe.config.nFft));
  }

  private release(): Float32Array {
    const { hop, nFft, nMels } = this.fe.config;
    const done = this.received === this.total;
    let end = this.next;
    while (end < this.frames && (done || end * hop + nFft / 2 <= this.received)) end++;
    const out = new Float32Array((end - this.next) * nMels);
    for (let t = this.next; t < end; t++) this.fe.frame(this.buf, t, out, (t - this.next) * nMels, this.bufStart, this.total);
    this.next = end;
    return out;
  }
}
