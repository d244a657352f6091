/**
 * Per-band mel statistics over a corpus (FlowMAC's fixed normalisation), in one
 * streaming pass with Chan et al.'s parallel update in float64: exact for any
 * number of frames, no second pass, bounded memory.
 */
import type { LogMel } from "./mel.js";
import { UserError } from "../util/errors.js";

export interface MelStats {
  bands: number;
  frames: number;
  mean: number[];
  std: number[];
}

export class MelStatsAccumulator {
  readonly bands: number;
  private count = 0;
  private mean: Float64Array;
  private m2: Float64Array;

  constructor(bands: number) {
    this.bands = bands;
    this.mean = new Float64Array(bands);
    this.m2 = new Float64Array(bands);
  }

  add(mel: LogMel): void {
    if (mel.bands !== this.bands) throw new Error(`expected ${this.bands} bands, got ${mel.bands}`);
    if (mel.frames === 0) return;
    // Batch moments of this clip, then merge them into the running moments.
    const bMean = new Float64Array(this.bands);
    const bM2 = new Float64Array(this.bands);
    for (let t = 0; t < mel.frames; t++) for (let m = 0; m < this.bands; m++) bMean[m] += mel.data[t * this.bands + m];
    for (let m = 0; m < this.bands; m++) bMean[m] /= mel.frames;
    for (let t = 0; t < mel.frames; t++)
      for (let m = 0; m < this.bands; m++) {
        const d = mel.data[t * this.bands + m] - bMean[m];
        bM2[m] += d * d;
      }
    const n = this.count + mel.frames;
    for (let m = 0; m < this.bands; m++) {
      const delta = bMean[m] - this.mean[m];
      this.mean[m] += (delta * mel.frames) / n;
      this.m2[m] += bM2[m] + (delta * delta * this.count * mel.frames) / n;
    }
    this.count = n;
  }

  /** Adds the frames another accumulator has seen (e.g. one file's, once it has been read to the end). */
  merge(other: MelStatsAccumulator): void {
    if (other.bands !== this.bands) throw new Error(`expected ${this.bands} bands, got ${other.bands}`);
    if (other.count === 0) return;
    const n = this.count + other.count;
    for (let m = 0; m < this.bands; m++) {
      const delta = other.mean[m] - this.mean[m];
      this.mean[m] += (delta * other.count) / n;
      this.m2[m] += other.m2[m] + (delta * delta * this.count * other.count) / n;
    }
    this.count = n;
  }

  result(): MelStats {
    if (this.count < 2) throw new UserError("need at least 2 mel frames to compute statistics");
    return {
      bands: this.bands,
      frames: this.count,
      mean: Array.from(this.mean),
      std: Array.from(this.m2, (v) => Math.sqrt(v / this.count)),
    };
  }
}

/** Smallest std used when normalising, so a constant band cannot blow up. */
const STD_FLOOR = 1e-3;

export function normalizeMel(mel: LogMel, stats: MelStats): LogMel {
  return mapBands(mel, stats, (v, mean, std) => (v - mean) / std);
}

export function denormalizeMel(mel: LogMel, stats: MelStats): LogMel {
  return mapBands(mel, stats, (v, mean, std) => v * std + mean);
}

/** Applies f(value, band mean, band std) to every value (std floored at STD_FLOOR). */
function mapBands(mel: LogMel, stats: MelStats, f: (v: number, mean: number, std: number) => number): LogMel {
  checkBands(mel, stats);
  const out = new Float32Array(mel.data.length);
  for (let t = 0; t < mel.frames; t++)
    for (let m = 0; m < mel.bands; m++) {
      const i = t * mel.bands + m;
      out[i] = f(mel.data[i], stats.mean[m], Math.max(stats.std[m], STD_FLOOR));
    }
  return { ...mel, data: out };
}

function checkBands(mel: LogMel, stats: MelStats): void {
  if (mel.bands !== stats.bands) throw new UserError(`mel has ${mel.bands} bands but the statistics have ${stats.bands}`);
}

export function parseMelStats(json: string, source: string): MelStats {
  let s: MelStats;
  try {
    s = JSON.parse(json);
  } catch {
    throw new UserError(`${source}: not JSON`);
  }
  const ok =
    s && Number.isInteger(s.bands) && Array.isArray(s.mean) && Array.isArray(s.std) &&
    s.mean.length === s.bands && s.std.length === s.bands &&
    [...s.mean, ...s.std].every((v) => typeof v === "number" && Number.isFinite(v));
  if (!ok) throw new UserError(`${source}: not a mel statistics file (need bands, mean[bands], std[bands])`);
  return s;
}
