/**
 * Encoding and decoding whole signals with any inference engine, block by
 * block so that memory stays bounded and every network runs at one fixed
 * shape: blocks of BLOCK frames whose central CORE frames are kept, with
 * MARGIN frames of context each side. Encoder codes and vocoder audio are
 * taken from the cores; decoded mels are cross-faded over the overlaps.
 * The CFM noise is a function of (seed, frame, band), so every block draws
 * exactly the noise the whole signal would.
 */
import { MelFrontEnd } from "../audio/mel.js";
import { denormalizeMel, normalizeMel } from "../audio/stats.js";
import { timeEmbeddingValues } from "../nn/time-embedding.js";
import { hashNormal } from "../nn/rng.js";
import { framesFor, HOP } from "../bitstream/fmac.js";
import type { InferenceEngine } from "./engine.js";

export const MARGIN = 32;
export const BLOCK = 256;
export const CORE = BLOCK - 2 * MARGIN;

export interface DecodeOptions {
  /** Euler steps (default 32). */
  steps: number;
  /** Classifier-free guidance scale w (default 1; 0 = no guidance, one evaluation per step). */
  guidance: number;
  /** Scales the initial noise (default 1). */
  temperature: number;
  seed: number;
  /** RVQ stages to use (default: all in the stream). */
  stages?: number;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_DECODE: DecodeOptions = { steps: 32, guidance: 1, temperature: 1, seed: 0 };
/** FlowMAC-LC: one Euler step, no guidance, one network evaluation. */
export const LC_DECODE: Partial<DecodeOptions> = { steps: 1, guidance: 0 };

/** Core starts of the blocks covering `frames` frames. */
export function blockStarts(frames: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < frames; s += CORE) out.push(s);
  return out;
}

/** Rows [start - MARGIN, start - MARGIN + BLOCK) of a [frames, width] matrix, `fill` outside it. */
function window(data: Float32Array | Int32Array, frames: number, width: number, start: number, fill: (row: number) => ArrayLike<number>): Float32Array {
  const out = new Float32Array(BLOCK * width);
  for (let i = 0; i < BLOCK; i++) {
    const t = start - MARGIN + i;
    if (t >= 0 && t < frames) out.set(data.subarray(t * width, (t + 1) * width), i * width);
    else out.set(fill(t), i * width);
  }
  return out;
}

export async function encodeAudio(engine: InferenceEngine, audio: Float32Array, onProgress?: (d: number, t: number) => void): Promise<{ codes: Uint16Array; frames: number; stages: number }> {
  const { codec, stats } = engine.info;
  const n = codec.nMels;
  const S = codec.rvq.stages;
  const mel = normalizeMel(new MelFrontEnd().compute(audio), stats);
  const frames = mel.frames;
  // Outside the signal: digital silence (the log floor), normalised.
  const silence = normalizeMel({ frames: 1, bands: n, data: new Float32Array(n).fill(Math.log(1e-5)) }, stats).data;
  const codes = new Uint16Array(frames * S);
  const starts = blockStarts(frames);
  for (const [k, start] of starts.entries()) {
    const block = await engine.encode(window(mel.data, frames, n, start, () => silence), BLOCK);
    for (let i = 0; i < CORE && start + i < frames; i++) for (let s = 0; s < S; s++) codes[(start + i) * S + s] = block[s * BLOCK + MARGIN + i];
    onProgress?.(k + 1, starts.length);
  }
  return { codes, frames, stages: S };
}

/**
 * Euler integration of dx/dt = v from t = 0 to 1 in `steps` steps with
 * classifier-free guidance: `field(xB, t)` evaluates the vector field on a
 * batch of copies of x (2 with guidance: conditional then unconditional, else
 * 1) and returns them concatenated; v = v_c + w (v_c - v_u).
 */
export async function eulerSolve(
  x0: Float32Array,
  steps: number,
  guidance: number,
  field: (xB: Float32Array, t: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const guided = guidance !== 0;
  const n = x0.length;
  const dt = 1 / steps;
  let x = x0;
  for (let step = 0; step < steps; step++) {
    const xB = new Float32Array(guided ? 2 * n : n);
    xB.set(x);
    if (guided) xB.set(x, n);
    const v = await field(xB, step * dt);
    const next = new Float32Array(n);
    for (let j = 0; j < n; j++) next[j] = x[j] + dt * (guided ? v[j] + guidance * (v[j] - v[n + j]) : v[j]);
    x = next;
  }
  return x;
}

/** Cross-fade weight of frame i of a block: ramps over the margins, 1 in the core. */
function fadeWeight(i: number): number {
  return Math.min(1, (i + 0.5) / (2 * MARGIN), (BLOCK - i - 0.5) / (2 * MARGIN));
}

/** Decoded (not normalised) log-mel [frames, nMels] from codes (frame-major [frames, streamStages]). */
export async function decodeMel(engine: InferenceEngine, codes: Uint16Array, frames: number, streamStages: number, o: DecodeOptions): Promise<Float32Array> {
  const { codec, stats } = engine.info;
  const n = codec.nMels;
  const stages = Math.min(o.stages ?? streamStages, streamStages);
  const acc = new Float32Array(frames * n);
  const wsum = new Float32Array(frames);
  const starts = blockStarts(frames);
  const B = o.guidance !== 0 ? 2 : 1;
  for (const [k, start] of starts.entries()) {
    // Codes for the block, stage-major [S, BLOCK] (stages beyond the stream's are masked off);
    // edge frames repeat outside the signal.
    const S = codec.rvq.stages;
    const bc = new Int32Array(S * BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      const t = Math.min(frames - 1, Math.max(0, start - MARGIN + i));
      for (let s = 0; s < stages; s++) bc[s * BLOCK + i] = codes[t * streamStages + s];
    }
    const mask = Float32Array.from({ length: S }, (_, s) => (s < stages ? 1 : 0));
    const mu = await engine.prior(bc, mask, BLOCK);
    const x0 = new Float32Array(BLOCK * n);
    for (let i = 0; i < BLOCK; i++) {
      const t = start - MARGIN + i;
      for (let m = 0; m < n; m++) x0[i * n + m] = o.temperature * hashNormal(o.seed, t, m);
    }
    // Batch row 0 is conditioned on mu, row 1 (with guidance) on a zero condition.
    const muB = new Float32Array(B * BLOCK * n);
    muB.set(mu);
    const x = await eulerSolve(x0, o.steps, o.guidance, async (xB, t) => {
      const tEmb = timeEmbeddingValues(new Float32Array(B).fill(t), codec.cfm.channels[0]);
      return engine.vectorField(xB, muB, tEmb, B, BLOCK);
    });
    for (let i = 0; i < BLOCK; i++) {
      const t = start - MARGIN + i;
      if (t < 0 || t >= frames) continue;
      const w = fadeWeight(i);
      wsum[t] += w;
      for (let m = 0; m < n; m++) acc[t * n + m] += w * x[i * n + m];
    }
    o.onProgress?.(k + 1, starts.length);
  }
  for (let t = 0; t < frames; t++) for (let m = 0; m < n; m++) acc[t * n + m] /= wsum[t];
  return denormalizeMel({ frames, bands: n, data: acc }, stats).data;
}

/** Audio [length] from a log-mel [frames, nMels], block by block (exact: the vocoder's context is within the margins). */
export async function vocodeMel(engine: InferenceEngine, mel: Float32Array, frames: number, length: number, onProgress?: (d: number, t: number) => void): Promise<Float32Array> {
  const n = engine.info.codec.nMels;
  const out = new Float32Array(length);
  const starts = blockStarts(frames);
  const floor = new Float32Array(n).fill(Math.log(1e-5));
  for (const [k, start] of starts.entries()) {
    const audio = await engine.vocode(window(mel, frames, n, start, () => floor), BLOCK);
    const from = start * HOP;
    const to = Math.min(length, (start + CORE) * HOP);
    if (to > from) out.set(audio.subarray(MARGIN * HOP, MARGIN * HOP + (to - from)), from);
    onProgress?.(k + 1, starts.length);
  }
  return out;
}

export async function decodeAudio(engine: InferenceEngine, codes: Uint16Array, frames: number, streamStages: number, length: number, o: DecodeOptions): Promise<Float32Array> {
  if (frames !== framesFor(length)) throw new Error(`${frames} frames do not match ${length} samples`);
  const nb = blockStarts(frames).length;
  const mel = await decodeMel(engine, codes, frames, streamStages, { ...o, onProgress: (d) => o.onProgress?.(d, 2 * nb) });
  return vocodeMel(engine, mel, frames, length, (d) => o.onProgress?.(nb + d, 2 * nb));
}
