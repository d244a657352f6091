/**
 * Objective quality metrics, each a pure function of two equal-length 24 kHz
 * signals (reference, degraded). They refuse signals of different lengths:
 * callers align first (alignment.ts) and say what they trimmed.
 */
import { MelFrontEnd } from "../audio/mel.js";
import { hannWindow, Stft } from "../audio/stft.js";

export function assertSameLength(ref: Float32Array, deg: Float32Array, what: string): void {
  if (ref.length !== deg.length) throw new Error(`${what}: signals differ in length (${ref.length} vs ${deg.length}); align them first`);
  if (ref.length === 0) throw new Error(`${what}: empty signals`);
}

/** Mean absolute difference of the codec's own 128-band natural-log mel. */
export function logMelL1(ref: Float32Array, deg: Float32Array): number {
  assertSameLength(ref, deg, "log-mel L1");
  const fe = new MelFrontEnd();
  const a = fe.compute(ref).data;
  const b = fe.compute(deg).data;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

/**
 * Multi-resolution STFT distance (Parallel WaveGAN's auxiliary loss as a
 * metric): spectral convergence ||S_r - S_d||_F / ||S_r||_F plus mean
 * |log S_r - log S_d|, averaged over Hann windows 512, 1024, 2048 (hop = win/4).
 */
export function multiResolutionStft(ref: Float32Array, deg: Float32Array, windows = [512, 1024, 2048]): { sc: number; logMag: number; total: number } {
  assertSameLength(ref, deg, "multi-resolution STFT");
  let sc = 0;
  let lm = 0;
  for (const n of windows) {
    const stft = new Stft(n, n / 4, hannWindow(n));
    const frames = stft.frameCount(ref.length);
    const ma = new Float64Array(stft.bins);
    const mb = new Float64Array(stft.bins);
    let num = 0;
    let den = 0;
    let l = 0;
    for (let t = 0; t < frames; t++) {
      stft.magnitude(ref, t, ma);
      stft.magnitude(deg, t, mb);
      for (let k = 0; k < stft.bins; k++) {
        num += (ma[k] - mb[k]) ** 2;
        den += ma[k] ** 2;
        l += Math.abs(Math.log(Math.max(ma[k], 1e-7)) - Math.log(Math.max(mb[k], 1e-7)));
      }
    }
    sc += Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-12);
    lm += l / (frames * stft.bins);
  }
  sc /= windows.length;
  lm /= windows.length;
  return { sc, logMag: lm, total: sc + lm };
}

/** Scale-invariant signal-to-distortion ratio in dB (Le Roux et al. 2019), zero-mean signals. */
export function siSdr(ref: Float32Array, deg: Float32Array): number {
  assertSameLength(ref, deg, "SI-SDR");
  let mr = 0;
  let md = 0;
  for (let i = 0; i < ref.length; i++) {
    mr += ref[i];
    md += deg[i];
  }
  mr /= ref.length;
  md /= ref.length;
  let dot = 0;
  let rr = 0;
  for (let i = 0; i < ref.length; i++) {
    dot += (deg[i] - md) * (ref[i] - mr);
    rr += (ref[i] - mr) ** 2;
  }
  const alpha = dot / Math.max(rr, 1e-20);
  let sig = 0;
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    const s = alpha * (ref[i] - mr);
    sig += s * s;
    err += (s - (deg[i] - md)) ** 2;
  }
  return 10 * Math.log10(Math.max(sig, 1e-20) / Math.max(err, 1e-20));
}

/**
 * Mel-cepstral distortion in dB: 10/ln(10) * sqrt(2 * sum_{k=1..K} (c_k - c'_k)^2)
 * averaged over frames, with c_k = (1/M) sum_m log S(m) cos(pi k (m + 1/2) / M)
 * the cepstrum of the M = 128-band natural-log mel (the coefficients of its
 * cosine series), K = 24, c0 (the energy) left out, as is usual.
 */
export function melCepstralDistortion(ref: Float32Array, deg: Float32Array, K = 24): number {
  assertSameLength(ref, deg, "MCD");
  const fe = new MelFrontEnd();
  const a = fe.compute(ref);
  const b = fe.compute(deg);
  const M = a.bands;
  const basis = new Float64Array((K + 1) * M);
  for (let k = 0; k <= K; k++)
    for (let m = 0; m < M; m++) basis[k * M + m] = Math.cos((Math.PI * k * (m + 0.5)) / M) / M;
  let total = 0;
  for (let t = 0; t < a.frames; t++) {
    let s = 0;
    for (let k = 1; k <= K; k++) {
      let ca = 0;
      let cb = 0;
      for (let m = 0; m < M; m++) {
        ca += basis[k * M + m] * a.data[t * M + m];
        cb += basis[k * M + m] * b.data[t * M + m];
      }
      s += (ca - cb) ** 2;
    }
    total += (10 / Math.LN10) * Math.sqrt(2 * s);
  }
  return total / a.frames;
}
