/**
 * The magnitude refiner's host side, shared by both engines and by training
 * (no jax-js here: the ONNX engine runs in browsers too): the network's input
 * prior, log NNLS magnitudes of the mel, and the way from its output
 * log-magnitude to audio, exp then PGHI + FGLA.
 */
import { loadFastFft } from "../audio/fft.js";
import { FrameGrid } from "../audio/griffin-lim.js";
import { FLOWMAC_MEL } from "../audio/mel.js";
import { melInverse, type MelInverse } from "../audio/mel-inverse.js";
import { PhaseStream } from "./phase-vocoder.js";
import type { RefinerConfig } from "./refiner.js";
import type { VocodeSettings } from "./engine.js";

/** Magnitudes are floored here before the log, in the prior and in the training target alike. */
export const MAGNITUDE_FLOOR = 1e-5;

/**
 * Mel-consistency iterations after the refiner when its mel is the true one (`flowmac resynth`, the
 * eval's vocoder-only row). Measured on 24 validation clips (2026-12-03, refiner-decoded, 16 phase
 * iterations), log-mel L1 / STOI / ESTOI / F0 error: 0: 0.134 / 0.936 / 0.868 / 29.3 cents;
 * 3: 0.119 / 0.937 / 0.869 / 28.5; 10: 0.118 / 0.937 / 0.870 / 27.6; 30: 0.117 / 0.937 / 0.869 / 26.7.
 * On the codec's decoded mels it gains nothing (flowmac@3: 0.828 / 0.699 -> 0.827 / 0.697 with 10),
 * so decoding keeps 0.
 */
export const TRUE_MEL_PROJECTION = 30;

/** The mel inverse for a refiner's front end (FLOWMAC_MEL with the config's sizes). */
export function refinerMelInverse(c: Pick<RefinerConfig, "nMels" | "nFft" | "hop">): MelInverse {
  return melInverse({ ...FLOWMAC_MEL, nMels: c.nMels, nFft: c.nFft, hop: c.hop });
}

/** log(max(NNLS magnitude, 1e-5)) [frames, bins] of a log-mel [frames, nMels]. */
export function logMagnitudePrior(inverse: MelInverse, mel: Float32Array, frames: number, nnlsIterations?: number): Float32Array {
  const mag = inverse.magnitude(mel, frames, nnlsIterations);
  for (let i = 0; i < mag.length; i++) mag[i] = Math.log(Math.max(mag[i], MAGNITUDE_FLOOR));
  return mag;
}

/** The network: mel [frames, nMels] and log prior [frames, bins] -> log-magnitude [frames, bins]. */
export type LogMagnitudeNet = (mel: Float32Array, logPrior: Float32Array, frames: number) => Promise<Float32Array>;

export class RefinerVocoder {
  private readonly stream: PhaseStream;
  private constructor(
    private readonly config: RefinerConfig,
    private readonly inverse: MelInverse,
    grid: FrameGrid,
  ) {
    this.stream = new PhaseStream(grid, "pghi-fgla", config.fglaIterations);
  }

  static async create(c: RefinerConfig): Promise<RefinerVocoder> {
    return new RefinerVocoder(c, refinerMelInverse(c), new FrameGrid(await loadFastFft(c.nFft), c.hop));
  }

  /** Log-mel [frames, nMels] -> audio [frames * hop] (sample 0 at the centre of frame 0); `o`: iterations other than the trained ones. */
  async vocode(mel: Float32Array, frames: number, net: LogMagnitudeNet, o: VocodeSettings = {}): Promise<Float32Array> {
    const iterations = o.phaseIterations ?? this.config.fglaIterations;
    const logMag = await net(mel, logMagnitudePrior(this.inverse, mel, frames, o.nnlsIterations), frames);
    // At or below the floor is silence (as the mel inverse treats the mel's floor): zero, not 1e-5, for PGHI.
    const silence = Math.log(MAGNITUDE_FLOOR) + 1e-4;
    const mag = new Float32Array(logMag.length);
    for (let i = 0; i < mag.length; i++) mag[i] = logMag[i] <= silence ? 0 : Math.exp(logMag[i]);
    if (o.melProjection) this.inverse.project(mel, mag, frames, o.melProjection);
    return this.stream.audio(mag, frames, mel, this.config.nMels, iterations);
  }
}
