/**
 * Inverse STFT on a host FFT, with the centre=true semantics of the vocoder's
 * traced istft (model/spectral.ts): windowed overlap-add of the frames' inverse
 * transforms, divided by the squared-window envelope, sample 0 at the centre of
 * frame 0. Used by the ONNX engine, whose vocoder graph stops at the spectrum.
 */
import type { RealFft } from "./fft.js";
import { hannWindow, istftEnvelope } from "./stft.js";

export class InverseStft {
  readonly bins: number;
  private window: Float32Array;
  private frame: Float32Array;
  private envelopes = new Map<number, Float32Array>();

  constructor(
    private fft: RealFft,
    readonly hop: number,
  ) {
    this.bins = fft.size / 2 + 1;
    this.window = Float32Array.from(hannWindow(fft.size));
    this.frame = new Float32Array(fft.size);
  }

  /** re, im [T, bins] (frame-major) -> audio [T * hop]. */
  synthesise(re: Float32Array, im: Float32Array, frames: number): Float32Array {
    const n = this.fft.size;
    const half = n / 2;
    const out = frames * this.hop;
    // Only samples [half, half + out) of the overlap-added signal are kept.
    const acc = new Float32Array(out);
    const w = this.window;
    const f = this.frame;
    for (let t = 0; t < frames; t++) {
      this.fft.inverse(re, im, t * this.bins, f);
      const start = t * this.hop - half; // output index of the frame's sample 0
      const from = Math.max(0, -start);
      const to = Math.min(n, out - start);
      for (let i = from; i < to; i++) acc[start + i] += f[i] * w[i];
    }
    let env = this.envelopes.get(frames);
    if (!env) this.envelopes.set(frames, (env = istftEnvelope(n, this.hop, frames)));
    for (let i = 0; i < out; i++) acc[i] *= env[i];
    return acc;
  }
}
