/**
 * Vocoders with no parameters: the magnitude from the mel by non-negative
 * least squares (audio/mel-inverse.ts), the phase by PGHI (audio/pghi.ts),
 * fast Griffin-Lim (audio/griffin-lim.ts), or PGHI refined by FGLA. Each is
 * selectable by name wherever the model's neural vocoder is ("--vocoder"),
 * and runs block by block in the pipeline like it.
 */
import { loadFastFft } from "../audio/fft.js";
import { FrameGrid, fastGriffinLim } from "../audio/griffin-lim.js";
import { FLOWMAC_MEL } from "../audio/mel.js";
import { melInverse } from "../audio/mel-inverse.js";
import { pghiPhase } from "../audio/pghi.js";
import { UserError } from "../util/errors.js";
import type { InferenceEngine } from "./engine.js";
import { MARGIN } from "./pipeline.js";

export const PHASE_METHODS = ["pghi", "fgla", "pghi-fgla"] as const;
export type PhaseMethod = (typeof PHASE_METHODS)[number];

/** FGLA iterations when the name gives none: from zero phase FGLA needs more than from PGHI's. */
const DEFAULT_ITERATIONS: Record<PhaseMethod, number> = { pghi: 0, fgla: 64, "pghi-fgla": 16 };

export interface VocoderChoice {
  /** "model" (the model's neural vocoder) or a phase method. */
  method: "model" | PhaseMethod;
  iterations: number;
  /** The name as given back to the user: "model", "pghi", "fgla:64", ... */
  name: string;
}

export const VOCODER_HELP = "model (the model's neural vocoder), pghi, pghi-fgla[:iterations] (default 16), fgla[:iterations] (default 64)";

/** Parses "model", "pghi", "fgla", "fgla:128", "pghi-fgla:8". */
export function parseVocoder(value: string): VocoderChoice {
  const m = /^([a-z-]+)(?::(\d+))?$/.exec(value);
  const method = m?.[1];
  if (method === "model" && !m![2]) return { method: "model", iterations: 0, name: "model" };
  if (!m || !(PHASE_METHODS as readonly string[]).includes(method!)) throw new UserError(`--vocoder must be one of ${VOCODER_HELP}; got '${value}'`);
  const pm = method as PhaseMethod;
  if (m[2] !== undefined && pm === "pghi") throw new UserError(`--vocoder pghi takes no iteration count (use pghi-fgla:${m[2]})`);
  const iterations = m[2] !== undefined ? Number(m[2]) : DEFAULT_ITERATIONS[pm];
  if (pm !== "pghi" && (iterations < 1 || iterations > 10000)) throw new UserError(`--vocoder ${pm}: iterations must be from 1 to 10000, got ${m[2]}`);
  return { method: pm, iterations, name: pm === "pghi" ? "pghi" : `${pm}:${iterations}` };
}

/** A training-free vocoder: log-mel [frames, 128] -> audio [frames * hop] (sample 0 at the centre of frame 0). */
export interface PhaseVocoder {
  readonly name: string;
  vocode(mel: Float32Array, frames: number): Float32Array;
}

/**
 * The pipeline vocodes a stream in blocks whose first OVERLAP frames repeat the
 * previous block's last ones. A phase found block by block would jump at every
 * block boundary (a click every 5.5 s): when a block continues the previous one
 * (its first OVERLAP mel frames equal the previous block's last), those frames
 * keep the previous block's final coefficients and the rest is integrated and
 * iterated from them, so the audio around the boundary, which only those frames
 * shape, is the same in both blocks.
 */
const OVERLAP = 2 * MARGIN;

function sameFrames(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Magnitudes to audio block by block, the phase continuing across blocks of one stream (see OVERLAP). */
export class PhaseStream {
  private tail: { mel: Float32Array; re: Float32Array; im: Float32Array } | null = null;
  constructor(
    private readonly grid: FrameGrid,
    private readonly method: PhaseMethod,
    private readonly iterations: number,
  ) {}

  /** Audio [frames * hop] (sample 0 at the centre of frame 0) for magnitudes [frames, bins] of the log-mel `mel` [frames, bands]; `fglaIterations` overrides the stream's. */
  audio(mag: Float32Array, frames: number, mel: Float32Array, bands: number, fglaIterations = this.iterations): Float32Array {
    const { grid, tail } = this;
    const bins = grid.bins;
    const continues = tail !== null && frames > OVERLAP && sameFrames(mel.subarray(0, OVERLAP * bands), tail.mel);
    const fixed = continues ? { frames: OVERLAP, re: tail!.re, im: tail!.im } : undefined;
    let phase: Float32Array | undefined;
    if (this.method !== "fgla") {
      const last = (OVERLAP - 1) * bins;
      const known = fixed ? { frames: OVERLAP, lastPhase: Float32Array.from(fixed.re.subarray(last, last + bins), (r, k) => Math.atan2(fixed.im[last + k], r)) } : undefined;
      phase = pghiPhase(mag, frames, grid.n, grid.hop, undefined, known);
    }
    const iterations = this.method === "pghi" ? 0 : fglaIterations;
    const r = fastGriffinLim(grid, mag, frames, { iterations, momentum: 0.99, initialPhase: phase, fixed });
    this.tail =
      frames > OVERLAP
        ? { mel: mel.slice((frames - OVERLAP) * bands, frames * bands), re: r.re.slice((frames - OVERLAP) * bins), im: r.im.slice((frames - OVERLAP) * bins) }
        : null;
    return grid.crop(r.signal, frames * grid.hop);
  }
}

export async function createPhaseVocoder(choice: VocoderChoice & { method: PhaseMethod }): Promise<PhaseVocoder> {
  const cfg = FLOWMAC_MEL;
  const grid = new FrameGrid(await loadFastFft(cfg.nFft), cfg.hop);
  const inverse = melInverse(cfg);
  const bands = cfg.nMels;
  const stream = new PhaseStream(grid, choice.method, choice.iterations);
  return {
    name: choice.name,
    vocode: (mel, frames) => stream.audio(inverse.magnitude(mel, frames), frames, mel, bands),
  };
}

/** The engine with its vocoder replaced by `choice` (the engine itself when choice is the model's). */
export async function withVocoder(engine: InferenceEngine, choice: VocoderChoice): Promise<InferenceEngine> {
  if (choice.method === "model") return engine;
  const v = await createPhaseVocoder(choice as VocoderChoice & { method: PhaseMethod });
  return {
    name: engine.name,
    info: engine.info,
    encode: (m, f, s, v) => engine.encode(m, f, s, v),
    prior: (c, m, f, v) => engine.prior(c, m, f, v),
    latent: (m, f, v) => engine.latent(m, f, v),
    searchMetricParts: () => engine.searchMetricParts(),
    priorFromLatent: (z, f, v) => engine.priorFromLatent(z, f, v),
    vectorField: (x, mu, t, b, f) => engine.vectorField(x, mu, t, b, f),
    vocode: async (mel, frames) => v.vocode(mel, frames), // a training-free vocoder keeps its own iterations
    dispose: () => engine.dispose(),
  };
}
