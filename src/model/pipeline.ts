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
import type { InferenceEngine, VocodeSettings } from "./engine.js";
import type { SearchOptions } from "./rvq-search.js";
import { firstCodeBeyond } from "./stream-fit.js";
import { decodePredictive, encodePredictive, openLoopErrors, residualMetric, type PredictiveRvq, type ResidualMetric } from "./predictive-rvq.js";
import { requirePredictive } from "./predictive-store.js";

export const MARGIN = 32;
export const BLOCK = 320;
export const CORE = BLOCK - 2 * MARGIN;

/**
 * Which frames of the block whose core starts at `start` are frames of the signal [BLOCK]
 * (1) and which pad it beyond its ends (0): the encoder and the prior decoder attend to the
 * signal's frames only, as training crops do, so a clip shorter than a block is coded as
 * itself and not as itself in a long silence (docs/results.md, 2026-12-02 fifth session).
 */
export function validFrames(start: number, frames: number): Float32Array {
  const v = new Float32Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) {
    const t = start - MARGIN + i;
    v[i] = t >= 0 && t < frames ? 1 : 0;
  }
  return v;
}

/** Decoding: the flow's settings, the stream's stages, and the vocoder's work (VocodeSettings; LC: LC_DECODE). */
export interface DecodeOptions extends VocodeSettings {
  /** Euler steps (default 0: the prior mel mu itself, no noise, no CFM evaluation; the paper uses 32). */
  steps: number;
  /** Classifier-free guidance scale w (default 1; 0 = no guidance, one evaluation per step). */
  guidance: number;
  /** Scales the initial noise (default 0.7; 0.5 in LC mode). */
  temperature: number;
  seed: number;
  /** RVQ stages to use (default: all in the stream). */
  stages?: number;
  /** Stages each frame carries, where a stream's frames differ (rate allocation; default: all in the stream). */
  frameStages?: Uint8Array;
  /** The codes are the model's predictive RVQ's (FmacStream.predictive). */
  predictive?: boolean;
  onProgress?: (done: number, total: number) => void;
}

/**
 * The default decodes the prior mel itself (0 flow steps). Chosen by measurement
 * (docs/results.md): with the warm-started codec, the prior mel scores far above
 * every flow decoder on speech (12 validation clips: STOI 0.698 against 0.484 for
 * the paper's 32 steps with guidance 1 and noise x0.7, 0.499 for the flow's mean);
 * at this training budget the flow adds noise, not detail. `steps: 32` with the
 * guidance and temperature below is the paper's decoder.
 */
export const DEFAULT_DECODE: DecodeOptions = { steps: 0, guidance: 1, temperature: 0.7, seed: 0 };
/** The paper's flow decoder: 32 Euler steps, guidance 1, noise x0.7 (as Matcha-TTS's 0.667). */
export const FLOW_DECODE: Partial<DecodeOptions> = { steps: 32, guidance: 1, temperature: 0.7 };
/**
 * FGLA iterations after PGHI in the LC decoder's refiner vocoder (the default decoder's: 16).
 * The vocoder is ~90 % of a decode, and its FGLA iterations most of that. Measured on 24
 * validation clips (2026-12-03, STOI / ESTOI at 3 and 1.5 kbit/s): 0 iterations 0.813 / 0.673
 * and 0.754 / 0.590, 1: 0.821 / 0.688 and 0.765 / 0.608, 2: 0.827 / 0.698 and 0.773 / 0.620,
 * 4: 0.829 / 0.700 and 0.778 / 0.625, 16: 0.836 / 0.707 and 0.787 / 0.635. Two keep LC above
 * Codec 2 at both its rates in the same run (0.813 / 0.685 at 3200 bit/s, 0.766 / 0.595 at 1600).
 */
export const LC_PHASE_ITERATIONS = 2;
/**
 * NNLS iterations of the LC decoder's magnitude prior (the refiner was trained on 40). Measured
 * on the same 24 clips with 2 phase iterations, STOI / ESTOI / F0 error at 3 and 1.5 kbit/s:
 * 40: 0.829 / 0.703 / 45.6 and 0.774 / 0.621 / 57.3; 20: 0.829 / 0.702 / 46.5 and
 * 0.774 / 0.622 / 55.5; 10: 0.828 / 0.703 / 50.0 and 0.773 / 0.622 / 55.1. Ten: LC's
 * speed target (50x real time) is reached only there (5 s of speech, machine shared with two
 * training runs: 30x with 40, 42x with 20, 50x with 10), at a cost within the noise of STOI.
 */
export const LC_NNLS_ITERATIONS = 10;
/**
 * FlowMAC-LC, the low-complexity decoder: the prior mel, as the default decoder
 * (no flow evaluation), with the vocoder's phase from PGHI and LC_PHASE_ITERATIONS
 * FGLA iterations, its magnitude prior from LC_NNLS_ITERATIONS NNLS iterations. The paper's LC spends its one network evaluation on the
 * flow (PAPER_LC_DECODE); with this codec that evaluation made the mel worse
 * (24 validation clips at 3 kbit/s, 2026-12-02: STOI 0.636 against 0.836 for
 * the prior mel; the flow was never trained with the current codec), so LC keeps
 * the prior and saves where the time is: the vocoder's iterations.
 */
export const LC_DECODE: Partial<DecodeOptions> = { steps: 0, phaseIterations: LC_PHASE_ITERATIONS, nnlsIterations: LC_NNLS_ITERATIONS };
/**
 * The paper's FlowMAC-LC: one Euler step, no guidance, one network evaluation,
 * the initial noise halved (a single step from full-scale noise leaves part of
 * it in the mel: codec step 3500, temperature 1 -> 0.5, log-mel L1 1.004 -> 0.932).
 */
export const PAPER_LC_DECODE: Partial<DecodeOptions> = { steps: 1, guidance: 0, temperature: 0.5 };

let sharedFrontEnd: Promise<MelFrontEnd> | null = null;
/** One front end for all calls (building its filterbank costs a few milliseconds), on the fastest FFT. */
function frontEnd(): Promise<MelFrontEnd> {
  return (sharedFrontEnd ??= MelFrontEnd.fast());
}

/** The residual search's metric at high-band weight h (search-metric.ts; none: the plain error). */
function predictiveMetric(engine: InferenceEngine, q: PredictiveRvq, h = 1): ResidualMetric | undefined {
  const parts = engine.searchMetricParts();
  const D = q.dim;
  if (parts.length === 0 || h === 1) return undefined;
  return residualMetric(q, Float64Array.from({ length: D * D }, (_, i) => parts[i] + h * parts[D * D + i]));
}

/** Core starts of the blocks covering `frames` frames. */
export function blockStarts(frames: number): number[] {
  const out: number[] = [];
  for (let s = 0; s < frames; s += CORE) out.push(s);
  return out;
}

export interface EncodedAudio {
  /** Frame-major [frames, stages]. */
  codes: Uint16Array;
  frames: number;
  stages: number;
  /** The latent's squared error after each stage, less |z|^2 (a per-frame constant): [frames, stages]. */
  prefixError: Float32Array;
}

/** Codes [frames, stages] of a whole signal; `search`: the stages to code (default all) and the beam (rvq-search.ts). */
export async function encodeAudio(engine: InferenceEngine, audio: Float32Array, onProgress?: (d: number, t: number) => void, search: SearchOptions = {}): Promise<EncodedAudio> {
  return encodeChunks(engine, (async function* () { yield audio; })(), audio.length, onProgress, search);
}

/**
 * Encodes a signal of `length` samples that arrives in chunks (any sizes), in
 * memory bounded by one block of audio whatever the length: each block's mel
 * frames are computed from a rolling window of samples that is trimmed as the
 * blocks advance. Gives exactly the codes of encoding the whole signal at once.
 */
export async function encodeChunks(
  engine: InferenceEngine,
  chunks: AsyncIterable<Float32Array>,
  length: number,
  onProgress?: (d: number, t: number) => void,
  search: SearchOptions = {},
): Promise<EncodedAudio> {
  const { codec, stats } = engine.info;
  const n = codec.nMels;
  const S = search.stages ?? codec.rvq.stages;
  const fe = await frontEnd();
  const { nFft, hop } = fe.config;
  const frames = fe.frameCount(length);
  const signal = new SampleWindow(chunks[Symbol.asyncIterator](), length);
  // Outside the signal: digital silence (the log floor), normalised.
  const silence = normalizeMel({ frames: 1, bands: n, data: new Float32Array(n).fill(Math.log(1e-5)) }, stats).data;
  const codes = new Uint16Array(frames * S);
  const prefixError = new Float32Array(frames * S);
  const starts = blockStarts(frames);
  // Predictive coding runs on the host, frame after frame, from the latent the decoder will have had.
  const q = search.predictive ? requirePredictive(engine.info) : null;
  if (q && S > q.stages) throw new RangeError(`${S} stages asked of a predictive RVQ of ${q.stages}`);
  const metric = q ? predictiveMetric(engine, q, search.highBandWeight) : undefined;
  let carried: PredictiveState = { zq: null, z: null };
  let melBlock = new Float32Array(BLOCK * n);
  let prevMel = new Float32Array(BLOCK * n);
  let prevOrigin = -Infinity; // frame index of prevMel's row 0
  for (const [k, start] of starts.entries()) {
    const first = Math.max(0, start - MARGIN);
    const last = Math.min(frames, start - MARGIN + BLOCK); // exclusive
    // Frame t reads samples [t*hop - nFft/2, t*hop + nFft/2), reflected into the signal at its ends.
    await signal.fill(Math.min(length, (last - 1) * hop + nFft / 2));
    for (let i = 0; i < BLOCK; i++) {
      const t = start - MARGIN + i;
      if (t < first || t >= last) continue;
      // Frames in the overlap with the previous block are computed once.
      if (t < prevOrigin + BLOCK) melBlock.set(prevMel.subarray((t - prevOrigin) * n, (t - prevOrigin + 1) * n), i * n);
      else fe.frame(signal.samples, t, melBlock, i * n, signal.start, length);
    }
    const norm = normalizeMel({ frames: BLOCK, bands: n, data: melBlock }, stats).data;
    [prevMel, melBlock] = [melBlock, prevMel];
    prevOrigin = start - MARGIN;
    for (let i = 0; i < BLOCK; i++) {
      const t = start - MARGIN + i;
      if (t < first || t >= last) norm.set(silence, i * n);
    }
    if (q) {
      const coded = await encodePredictiveBlock(engine, q, norm, start, frames, S, search.frameStages, metric, carried);
      codes.set(coded.codes, start * S);
      if (coded.prefixError) prefixError.set(coded.prefixError, start * S);
      carried = coded.carried;
    } else {
      // A rate-allocated second pass searches each frame for its own count (frames outside the signal: all stages).
      const counts = search.frameStages;
      const frameStages = counts && Uint8Array.from({ length: BLOCK }, (_, i) => counts[start - MARGIN + i] ?? S);
      const block = await engine.encode(norm, BLOCK, { ...search, stages: S, frameStages }, validFrames(start, frames));
      for (let i = 0; i < CORE && start + i < frames; i++) {
        for (let s = 0; s < S; s++) codes[(start + i) * S + s] = block.codes[s * BLOCK + MARGIN + i];
        prefixError.set(block.prefixError.subarray((MARGIN + i) * S, (MARGIN + i + 1) * S), (start + i) * S);
      }
    }
    // The next block's first frame reads from here on (frames near 0 reflect into the first block only).
    signal.dropBefore(Math.max(0, (start + CORE - MARGIN) * hop - nFft / 2));
    onProgress?.(k + 1, starts.length);
  }
  await signal.drain();
  return { codes, frames, stages: S, prefixError };
}

/** What a predictive stream's next block continues from: the last core frame's decoded and true latents. */
interface PredictiveState {
  zq: Float32Array | null;
  z: Float32Array | null;
}

/**
 * One block's core frames coded by the predictive RVQ on the host, closed loop `from` the block before:
 * codes [core, S]; without per-frame counts (a first pass, or no allocation) all S stages, with the
 * open-loop errors each count would leave [core, S], which the allocation weighs.
 */
async function encodePredictiveBlock(
  engine: InferenceEngine,
  q: PredictiveRvq,
  norm: Float32Array,
  start: number,
  frames: number,
  S: number,
  given: ArrayLike<number> | undefined,
  metric: ResidualMetric | undefined,
  from: PredictiveState,
): Promise<{ codes: Uint16Array; prefixError: Float32Array | null; carried: PredictiveState }> {
  const D = q.dim;
  const z = await engine.latent(norm, BLOCK, validFrames(start, frames));
  const core = Math.min(CORE, frames - start);
  const zc = z.subarray(MARGIN * D, (MARGIN + core) * D);
  const counts = Uint8Array.from({ length: core }, (_, i) => (given ? given[start + i] : S));
  const coded = encodePredictive(q, zc, core, counts, metric, from.zq);
  const narrow = (wide: ArrayLike<number>, out: Uint16Array | Float32Array) => {
    for (let i = 0; i < core; i++) for (let s = 0; s < S; s++) out[i * S + s] = wide[i * q.stages + s];
    return out;
  };
  return {
    codes: narrow(coded.codes, new Uint16Array(core * S)) as Uint16Array,
    prefixError: given ? null : (narrow(openLoopErrors(q, zc, core, metric, from.z), new Float32Array(core * S)) as Float32Array),
    carried: { zq: coded.zq.slice((core - 1) * D, core * D), z: zc.slice((core - 1) * D, core * D) },
  };
}

/** A rolling window [start, start + samples.length) over a signal arriving in chunks. */
class SampleWindow {
  start = 0;
  samples = new Float32Array(0);
  private end = 0;

  constructor(
    private source: AsyncIterator<Float32Array>,
    private length: number,
  ) {}

  /** Reads chunks until the window reaches sample `until` (exclusive). */
  async fill(until: number): Promise<void> {
    const parts: Float32Array[] = [];
    let end = this.end;
    while (end < until) {
      const next = (await this.source.next()).value;
      if (!next) throw new Error(`audio stream ended at sample ${end} of ${this.length}`);
      const take = next.subarray(0, Math.min(next.length, this.length - end));
      parts.push(take);
      end += take.length;
    }
    if (!parts.length) return;
    const kept = this.samples.subarray(0, this.end - this.start);
    const grown = new Float32Array(end - this.start);
    grown.set(kept);
    let o = kept.length;
    for (const p of parts) {
      grown.set(p, o);
      o += p.length;
    }
    this.samples = grown;
    this.end = end;
  }

  /** Reads the source to its end, so that checks it makes at the end (e.g. an all-silent input) are not skipped. */
  async drain(): Promise<void> {
    while (!(await this.source.next()).done);
  }

  dropBefore(index: number): void {
    if (index <= this.start) return;
    const cut = Math.min(index, this.end) - this.start;
    this.samples = this.samples.slice(cut);
    this.start += cut;
  }
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

/** The flow's sample for one block: Euler steps from seeded noise, conditioned on the prior mu. */
async function flowFromPrior(engine: InferenceEngine, mu: Float32Array, start: number, o: DecodeOptions): Promise<Float32Array> {
  const { codec } = engine.info;
  const n = codec.nMels;
  const B = o.guidance !== 0 ? 2 : 1;
  const x0 = new Float32Array(BLOCK * n);
  for (let i = 0; i < BLOCK; i++) {
    const t = start - MARGIN + i;
    for (let m = 0; m < n; m++) x0[i * n + m] = o.temperature * hashNormal(o.seed, t, m);
  }
  // Batch row 0 is conditioned on mu, row 1 (with guidance) on a zero condition.
  const muB = new Float32Array(B * BLOCK * n);
  muB.set(mu);
  return eulerSolve(x0, o.steps, o.guidance, async (xB, t) => {
    const tEmb = timeEmbeddingValues(new Float32Array(B).fill(t), codec.cfm.channels[0]);
    return engine.vectorField(xB, muB, tEmb, B, BLOCK);
  });
}

/** Cross-fade weight of frame i of a block: ramps over the margins, 1 in the core. */
function fadeWeight(i: number): number {
  return Math.min(1, (i + 0.5) / (2 * MARGIN), (BLOCK - i - 0.5) / (2 * MARGIN));
}

/**
 * The decoded (denormalised) log-mel, yielded in consecutive chunks of CORE
 * frames (the last one shorter), each final when yielded: a chunk is done once
 * the blocks on both sides of it have been cross-faded in. Memory stays
 * bounded by a few blocks, whatever the length.
 */
export async function* decodeMelChunks(engine: InferenceEngine, codes: Uint16Array, frames: number, streamStages: number, o: DecodeOptions): AsyncGenerator<Float32Array> {
  const { codec, stats } = engine.info;
  const n = codec.nMels;
  const S = codec.rvq.stages;
  // Refused before any engine runs: engines differ on what an index beyond a codebook does.
  if (streamStages > S) throw new RangeError(`${streamStages} RVQ stages given; the model has ${S}`);
  const bad = firstCodeBeyond(codes.subarray(0, frames * streamStages), codec.rvq.codebookSize);
  if (bad >= 0) throw new RangeError(`code ${codes[bad]} (frame ${Math.floor(bad / streamStages)}, stage ${bad % streamStages}) is beyond the codebooks' ${codec.rvq.codebookSize} entries`);
  const stages = Math.min(o.stages ?? streamStages, streamStages);
  const starts = blockStarts(frames);
  const frameStages = o.frameStages;
  if (frameStages && frameStages.length !== frames) throw new RangeError(`${frameStages.length} per-frame stage counts for ${frames} frames`);
  // A predictive stream's latents, decoded frame after frame on the host (D floats a frame).
  let zqAll: Float32Array | null = null;
  if (o.predictive) {
    const q = requirePredictive(engine.info);
    if (streamStages > q.stages) throw new RangeError(`${streamStages} RVQ stages given; the model's predictive RVQ has ${q.stages}`);
    if (stages < streamStages) throw new RangeError(`a predictive stream decodes with all its ${streamStages} stages (each frame is predicted from the last one decoded)`);
    const wide = new Uint16Array(frames * q.stages);
    for (let t = 0; t < frames; t++) for (let s = 0; s < streamStages; s++) wide[t * q.stages + s] = codes[t * streamStages + s];
    zqAll = decodePredictive(q, wide, frames, frameStages ?? new Uint8Array(frames).fill(streamStages));
  }
  const D = codec.rvq.dim;
  const mask = new Float32Array(S * BLOCK);
  // Cross-fade accumulators of the chunks still open, by chunk index.
  const open = new Map<number, { acc: Float32Array; w: Float32Array }>();
  const chunkLen = (j: number) => Math.min(CORE, frames - j * CORE);
  const finish = (j: number): Float32Array => {
    const c = open.get(j)!;
    open.delete(j);
    const len = chunkLen(j);
    for (let t = 0; t < len; t++) for (let m = 0; m < n; m++) c.acc[t * n + m] /= c.w[t];
    return denormalizeMel({ frames: len, bands: n, data: c.acc.subarray(0, len * n) }, stats).data;
  };
  for (const [k, start] of starts.entries()) {
    // Codes for the block, stage-major [S, BLOCK] (stages beyond the stream's masked off);
    // edge frames repeat outside the signal.
    const bc = new Int32Array(S * BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      const t = Math.min(frames - 1, Math.max(0, start - MARGIN + i));
      const used = frameStages ? Math.min(stages, frameStages[t]) : stages;
      for (let s = 0; s < S; s++) {
        if (s < stages) bc[s * BLOCK + i] = codes[t * streamStages + s];
        mask[s * BLOCK + i] = s < used ? 1 : 0;
      }
    }
    let mu: Float32Array;
    if (zqAll) {
      // Edge frames repeat outside the signal, as the codes do.
      const zq = new Float32Array(BLOCK * D);
      for (let i = 0; i < BLOCK; i++) {
        const t = Math.min(frames - 1, Math.max(0, start - MARGIN + i));
        zq.set(zqAll.subarray(t * D, (t + 1) * D), i * D);
      }
      mu = await engine.priorFromLatent(zq, BLOCK, validFrames(start, frames));
    } else mu = await engine.prior(bc, mask, BLOCK, validFrames(start, frames));
    const x = o.steps === 0 ? mu : await flowFromPrior(engine, mu, start, o);
    for (let i = 0; i < BLOCK; i++) {
      const t = start - MARGIN + i;
      if (t < 0 || t >= frames) continue;
      const j = Math.floor(t / CORE);
      if (!open.has(j)) open.set(j, { acc: new Float32Array(CORE * n), w: new Float32Array(CORE) });
      const c = open.get(j)!;
      const f = fadeWeight(i);
      const r = t - j * CORE;
      c.w[r] += f;
      for (let m = 0; m < n; m++) c.acc[r * n + m] += f * x[i * n + m];
    }
    o.onProgress?.(k + 1, starts.length);
    if (k >= 1) yield finish(k - 1); // no later block reaches back into chunk k-1
  }
  for (const j of [...open.keys()].sort((a, b) => a - b)) yield finish(j);
}

/**
 * Audio from consecutive mel chunks of CORE frames, block by block, yielded in
 * consecutive pieces that end at `length` samples. Exact: the vocoder's
 * receptive field lies within the block margins.
 */
export async function* vocodeChunks(
  engine: InferenceEngine,
  chunks: AsyncIterable<Float32Array> | Iterable<Float32Array>,
  frames: number,
  length: number,
  onProgress?: (d: number, t: number) => void,
  settings?: VocodeSettings,
): AsyncGenerator<Float32Array> {
  const n = engine.info.codec.nMels;
  const floorRow = new Float32Array(n).fill(Math.log(1e-5));
  const total = blockStarts(frames).length;
  let prev: Float32Array | null = null;
  let cur: Float32Array | null = null;
  let j = 0;
  const block = async (next: Float32Array | null): Promise<Float32Array> => {
    // Frames [j*CORE - MARGIN, j*CORE + CORE + MARGIN): the end of prev, cur, the start of next.
    const mel = new Float32Array(BLOCK * n);
    for (let i = 0; i < BLOCK; i++) {
      const r = i - MARGIN;
      let row: Float32Array = floorRow;
      if (r < 0 && prev) row = prev.subarray((prev.length / n + r) * n, (prev.length / n + r + 1) * n);
      else if (r >= 0 && r < cur!.length / n) row = cur!.subarray(r * n, (r + 1) * n);
      else if (r >= CORE && next && r - CORE < next.length / n) row = next.subarray((r - CORE) * n, (r - CORE + 1) * n);
      mel.set(row, i * n);
    }
    const audio = await engine.vocode(mel, BLOCK, settings);
    const from = j * CORE * HOP;
    const to = Math.min(length, (j * CORE + cur!.length / n) * HOP, (j + 1) * CORE * HOP);
    onProgress?.(j + 1, total);
    j++;
    return audio.slice(MARGIN * HOP, MARGIN * HOP + Math.max(0, to - from));
  };
  for await (const next of chunks) {
    if (cur) {
      yield await block(next);
      prev = cur;
    }
    cur = next;
  }
  if (cur) yield await block(null); // frames * HOP > length, so the last block reaches the end
}

async function collect(chunks: AsyncIterable<Float32Array>, size: number): Promise<Float32Array> {
  const out = new Float32Array(size);
  let o = 0;
  for await (const c of chunks) {
    out.set(c.subarray(0, size - o), o);
    o += c.length;
  }
  return out;
}

/** The whole decoded (denormalised) log-mel [frames, nMels]. */
export async function decodeMel(engine: InferenceEngine, codes: Uint16Array, frames: number, streamStages: number, o: DecodeOptions): Promise<Float32Array> {
  return collect(decodeMelChunks(engine, codes, frames, streamStages, o), frames * engine.info.codec.nMels);
}

/** Audio [length] from a whole log-mel [frames, nMels]. */
export async function vocodeMel(engine: InferenceEngine, mel: Float32Array, frames: number, length: number, onProgress?: (d: number, t: number) => void, settings?: VocodeSettings): Promise<Float32Array> {
  const n = engine.info.codec.nMels;
  const chunks = blockStarts(frames).map((s) => mel.subarray(s * n, Math.min(frames, s + CORE) * n));
  return collect(vocodeChunks(engine, chunks, frames, length, onProgress, settings), length);
}

/** Decoded audio in consecutive pieces (bounded memory: for long files, write them out as they come). */
export function decodeAudioChunks(engine: InferenceEngine, codes: Uint16Array, frames: number, streamStages: number, length: number, o: DecodeOptions): AsyncGenerator<Float32Array> {
  if (frames !== framesFor(length)) throw new Error(`${frames} frames do not match ${length} samples`);
  const nb = blockStarts(frames).length;
  const mel = decodeMelChunks(engine, codes, frames, streamStages, { ...o, onProgress: (d) => o.onProgress?.(d, 2 * nb) });
  return vocodeChunks(engine, mel, frames, length, (d) => o.onProgress?.(nb + d, 2 * nb), vocodeSettings(o));
}

/** The vocoder's share of decode options. */
export function vocodeSettings(o: VocodeSettings): VocodeSettings {
  return { phaseIterations: o.phaseIterations, nnlsIterations: o.nnlsIterations, melProjection: o.melProjection };
}

export async function decodeAudio(engine: InferenceEngine, codes: Uint16Array, frames: number, streamStages: number, length: number, o: DecodeOptions): Promise<Float32Array> {
  return collect(decodeAudioChunks(engine, codes, frames, streamStages, length, o), length);
}
