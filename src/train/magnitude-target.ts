/**
 * The refiner's training target: log STFT magnitudes of a clip's mel frames
 * [f0, f0 + n), framed exactly as the mel front end frames them (frame t
 * centred on sample t * hop of the whole clip, periodic Hann, reflect padding
 * at the clip's ends), so target frame i and mel frame f0 + i see the same
 * samples. The audio is read with a window's worth of context each side.
 */
import { FLOWMAC_MEL } from "../audio/mel.js";
import { hannWindow, Stft } from "../audio/stft.js";
import { MAGNITUDE_FLOOR } from "../model/refiner-host.js";
import type { Clip } from "./clip.js";

export class MagnitudeTarget {
  readonly bins: number;
  private stft: Stft;
  private mag: Float64Array;

  constructor(
    readonly nFft = FLOWMAC_MEL.nFft,
    readonly hop = FLOWMAC_MEL.hop,
  ) {
    this.stft = new Stft(nFft, hop, hannWindow(nFft));
    this.bins = nFft / 2 + 1;
    this.mag = new Float64Array(this.bins);
  }

  /** log(max(gain * |STFT|, 1e-5)) [n, bins] of the clip's frames [f0, f0 + n). */
  logMagnitude(clip: Clip, f0: number, n: number, gain = 1): Float32Array {
    // Frames reach nFft/2 past their centres; reflect padding folds back one sample further. nFft of context covers both.
    const start = Math.max(0, f0 * this.hop - this.nFft);
    const end = Math.min(clip.samples, (f0 + n - 1) * this.hop + this.nFft);
    const x = clip.audio(start, end - start);
    const out = new Float32Array(n * this.bins);
    for (let i = 0; i < n; i++) {
      this.stft.magnitude(x, f0 + i, this.mag, start, clip.samples);
      for (let k = 0; k < this.bins; k++) out[i * this.bins + k] = Math.log(Math.max(gain * this.mag[k], MAGNITUDE_FLOOR));
    }
    return out;
  }
}
