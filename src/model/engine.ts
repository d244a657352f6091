/**
 * An inference engine runs the networks of a trained FlowMAC model on
 * fixed-size blocks; the block logic, the Euler solver and guidance live in
 * pipeline.ts and are shared by every engine. The jax-js engine is the
 * reference; the onnxruntime engine (onnx-engine.ts) is the fast one.
 */
import type { CodecConfig } from "./config.js";
import type { AnyVocoderConfig } from "./vocoder.js";
import type { MelStats } from "../audio/stats.js";
import type { SearchOptions } from "./rvq-search.js";

export interface EngineInfo {
  codec: CodecConfig;
  vocoder: AnyVocoderConfig;
  stats: MelStats;
  /** First 8 bytes of the SHA-256 of the codec weights, hex: the bitstream's model id. */
  modelId: string;
  /** The same for the vocoder weights (the bitstream does not depend on them; cached ONNX exports do). */
  vocoderId?: string;
  /** The code tables of entropy-coded streams (bitstream/code-model.ts), as the codec weights' metadata carries them; absent in models fitted before them. */
  codeTables?: string;
  /** The predictive RVQ of predictive streams (predictive-store.ts), as JSON; absent in models fitted without one. */
  predictive?: string;
}

export interface EncodedBlock {
  codes: Int32Array;
  prefixError: Float64Array;
}

/** How much work a refiner vocoder does (both default to its config's / the trained setting). */
export interface VocodeSettings {
  /** FGLA iterations after PGHI (default the config's, 16). */
  phaseIterations?: number;
  /** NNLS iterations of the magnitude prior from the mel (default NNLS_ITERATIONS, 40, as trained). */
  nnlsIterations?: number;
  /**
   * Iterations that pull the refined magnitude toward re-analysing to the mel (MelInverse.project;
   * default 0). Worth it where the mel is the true one (resynth: TRUE_MEL_PROJECTION); a decoded
   * mel carries errors that the refiner learned to correct, and projecting brings them back.
   */
  melProjection?: number;
}

export interface InferenceEngine {
  readonly name: string;
  readonly info: EngineInfo;
  /**
   * Normalised mel [T, nMels] -> codes [stages, T] by the RVQ search (rvq-search.ts; default: all
   * stages, beam DEFAULT_BEAM), with the latent's squared error after each stage, less |z|^2 [T, stages].
   */
  encode(melNorm: Float32Array, frames: number, search: SearchOptions | undefined, valid: Float32Array): Promise<EncodedBlock>;
  /**
   * Codes [S, T] (all S stages; unused ones masked) and stage mask [S, T] -> prior mel mu [T, nMels] (normalised).
   * `valid` [T], here and in encode: 1 for frames of the signal, 0 for a block's padding beyond its ends,
   * which no frame of the signal then attends to (as in training, where attention ends at a crop's edges).
   */
  prior(codes: Int32Array, mask: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array>;
  /** Normalised mel [T, nMels] -> the encoder's latent z [T, dim], unquantised (a predictive stream's search runs on the host). */
  latent(melNorm: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array>;
  /** The encoder search's metric parts [2, dim, dim] (search-metric.ts metricParts; empty: the plain metric). */
  searchMetricParts(): Float32Array;
  /** A latent zq [T, dim] -> prior mel mu [T, nMels] (normalised): prior() for latents the host has decoded. */
  priorFromLatent(zq: Float32Array, frames: number, valid: Float32Array): Promise<Float32Array>;
  /** v(x; mu, t) for a batch: x, mu [B, T, nMels], tEmb [B, channels[0]] -> [B, T, nMels]. */
  vectorField(x: Float32Array, mu: Float32Array, tEmb: Float32Array, batch: number, frames: number): Promise<Float32Array>;
  /** Log-mel (not normalised) [T, nMels] -> audio [T * 512]; `o`: a refiner vocoder's work (other vocoders ignore it). */
  vocode(mel: Float32Array, frames: number, o?: VocodeSettings): Promise<Float32Array>;
  dispose(): void;
}
