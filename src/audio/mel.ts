/**
 * FlowMAC's front end: 128-band Slaney log-mel of 24 kHz audio, n_fft 2048,
 * periodic Hann 2048, hop 512, centred with reflect padding, magnitude
 * spectrum, natural log of max(x, 1e-5). Matches torchaudio to 1e-4.
 */
import { slaneyFilterbank, sparsify, type SparseFilterbank } from "./melscale.js";
import { loadFastFft, type RealFft } from "./fft.js";
import { hannWindow, Stft } from "./stft.js";

export interface MelConfig {
  sampleRate: number;
  nFft: number;
  hop: number;
  nMels: number;
  fMin: number;
  fMax: number;
  logFloor: number;
}

export const FLOWMAC_MEL: MelConfig = {
  sampleRate: 24000,
  nFft: 2048,
  hop: 512,
  nMels: 128,
  fMin: 0,
  fMax: 12000,
  logFloor: 1e-5,
};

/** A log-mel spectrogram, time-major: data[t * bands + m]. */
export interface LogMel {
  frames: number;
  bands: number;
  data: Float32Array;
}

export class MelFrontEnd {
  readonly config: MelConfig;
  readonly stft: Stft;
  readonly filterbank: Float64Array;
  private sparse: SparseFilterbank;
  private flat: Float64Array;
  private flatOffset: Int32Array;
  private mag: Float64Array;

  /** `fft` defaults to fft.js (synchronous); `MelFrontEnd.fast()` uses the fastest FFT available. */
  constructor(config: MelConfig = FLOWMAC_MEL, fft?: RealFft) {
    this.config = config;
    this.stft = new Stft(config.nFft, config.hop, hannWindow(config.nFft), fft);
    this.filterbank = slaneyFilterbank(this.stft.bins, config.nMels, config.sampleRate, config.fMin, config.fMax);
    this.sparse = sparsify(this.filterbank, this.stft.bins, config.nMels);
    this.flatOffset = new Int32Array(config.nMels + 1);
    this.sparse.weights.forEach((w, m) => (this.flatOffset[m + 1] = this.flatOffset[m] + w.length));
    this.flat = new Float64Array(this.flatOffset[config.nMels]);
    this.sparse.weights.forEach((w, m) => this.flat.set(w, this.flatOffset[m]));
    this.mag = new Float64Array(this.stft.bins);
  }

  /** A front end on PFFFT (wasm SIMD) where it loads: what the codec's encoder uses. */
  static async fast(config: MelConfig = FLOWMAC_MEL): Promise<MelFrontEnd> {
    return new MelFrontEnd(config, await loadFastFft(config.nFft));
  }

  frameCount(samples: number): number {
    return this.stft.frameCount(samples);
  }

  /**
   * Log-mel of frame t, written to out[outOffset .. outOffset + nMels). x holds
   * samples from index `offset` of a signal of `total` samples (see Stft.frame).
   */
  frame(x: Float32Array, t: number, out: Float32Array, outOffset: number, offset = 0, total = x.length): void {
    this.stft.magnitude(x, t, this.mag, offset, total);
    // One flat weight array (band m's weights at flatOffset[m]..flatOffset[m+1]) keeps this loop monomorphic and cache-friendly.
    const { start } = this.sparse;
    const { flat, flatOffset } = this;
    const mag = this.mag;
    const floor = this.config.logFloor;
    for (let m = 0; m < this.config.nMels; m++) {
      const end = flatOffset[m + 1];
      let acc = 0;
      for (let j = flatOffset[m], k = start[m]; j < end; j++, k++) acc += flat[j] * mag[k];
      out[outOffset + m] = Math.log(acc > floor ? acc : floor);
    }
  }

  compute(x: Float32Array): LogMel {
    const frames = this.frameCount(x.length);
    const bands = this.config.nMels;
    const data = new Float32Array(frames * bands);
    for (let t = 0; t < frames; t++) this.frame(x, t, data, t * bands);
    return { frames, bands, data };
  }
}

/** Transposes a time-major mel to band-major [bands, frames] (the .npy layout of mel-vocoder tools). */
export function toBandMajor(mel: LogMel): Float32Array {
  const out = new Float32Array(mel.data.length);
  for (let t = 0; t < mel.frames; t++) for (let m = 0; m < mel.bands; m++) out[m * mel.frames + t] = mel.data[t * mel.bands + m];
  return out;
}

export function fromBandMajor(data: Float32Array, bands: number, frames: number): LogMel {
  const out = new Float32Array(data.length);
  for (let m = 0; m < bands; m++) for (let t = 0; t < frames; t++) out[t * bands + m] = data[m * frames + t];
  return { frames, bands, data: out };
}
