/**
 * Delay alignment of a decoded signal to its reference by cross-correlation
 * (FFT-based), then trimming both to their common length, so metrics never
 * compare misaligned or different-length signals (and the report says how
 * much was shifted and trimmed).
 */
import FFT from "fft.js";

export interface Aligned {
  ref: Float32Array;
  deg: Float32Array;
  /** Samples by which the degraded signal lags the reference (negative: leads). */
  delay: number;
  /** Samples dropped from the longer signal's end after the shift. */
  trimmed: number;
}

/** Lag in [-maxLag, maxLag] maximising sum ref[n] deg[n + lag]. */
export function estimateDelay(ref: Float32Array, deg: Float32Array, maxLag: number): number {
  const n = ref.length + deg.length;
  let size = 1;
  while (size < n) size <<= 1;
  const fft = new FFT(size);
  const a = new Float64Array(size);
  const b = new Float64Array(size);
  a.set(ref);
  b.set(deg);
  const A = new Float64Array(2 * size);
  const Bf = new Float64Array(2 * size);
  fft.realTransform(A as unknown as number[], a as unknown as number[]);
  fft.completeSpectrum(A as unknown as number[]);
  fft.realTransform(Bf as unknown as number[], b as unknown as number[]);
  fft.completeSpectrum(Bf as unknown as number[]);
  // cross-correlation: IFFT(conj(A) * B)
  const C = new Float64Array(2 * size);
  for (let k = 0; k < size; k++) {
    const ar = A[2 * k], ai = -A[2 * k + 1], br = Bf[2 * k], bi = Bf[2 * k + 1];
    C[2 * k] = ar * br - ai * bi;
    C[2 * k + 1] = ar * bi + ai * br;
  }
  const c = new Float64Array(2 * size);
  fft.inverseTransform(c as unknown as number[], C as unknown as number[]);
  let best = 0;
  let bestVal = -Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const idx = lag >= 0 ? lag : size + lag;
    const v = c[2 * idx];
    if (v > bestVal) {
      bestVal = v;
      best = lag;
    }
  }
  return best;
}

export function align(ref: Float32Array, deg: Float32Array, maxLag: number): Aligned {
  const delay = estimateDelay(ref, deg, maxLag);
  const r = delay >= 0 ? ref : ref.subarray(-delay);
  const d = delay >= 0 ? deg.subarray(delay) : deg;
  const n = Math.min(r.length, d.length);
  return { ref: r.subarray(0, n), deg: d.subarray(0, n), delay, trimmed: Math.max(r.length, d.length) - n };
}
