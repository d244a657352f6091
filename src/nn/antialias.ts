/**
 * BigVGAN's anti-aliased activation: 2x up-sample with a Kaiser-windowed sinc
 * filter, the non-linearity at the doubled rate, then low-pass and 2x
 * down-sample, so the harmonics the activation creates above the original
 * Nyquist are filtered out instead of folding back as aliases.
 */
import { depthwiseConv1d, depthwiseConvTranspose1d, padTimeReplicate } from "./layers.js";
import { np, type JArray } from "./runtime.js";

/** Zeroth-order modified Bessel function of the first kind (series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return sum;
}

/** Symmetric Kaiser window of length n (torch.kaiser_window with periodic=false). */
export function kaiserWindow(n: number, beta: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const r = (2 * i) / (n - 1) - 1;
    w[i] = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / besselI0(beta);
  }
  return w;
}

/** BigVGAN's kaiser_sinc_filter1d: a low-pass FIR with the given cutoff and transition half-width (fractions of the sample rate). */
export function kaiserSincFilter(cutoff: number, halfWidth: number, kernelSize: number): Float32Array {
  const even = kernelSize % 2 === 0;
  const halfSize = Math.floor(kernelSize / 2);
  const deltaF = 4 * halfWidth;
  const A = 2.285 * (halfSize - 1) * Math.PI * deltaF + 7.95;
  const beta = A > 50 ? 0.1102 * (A - 8.7) : A >= 21 ? 0.5842 * (A - 21) ** 0.4 + 0.07886 * (A - 21) : 0;
  const win = kaiserWindow(kernelSize, beta);
  const f = new Float64Array(kernelSize);
  let sum = 0;
  for (let i = 0; i < kernelSize; i++) {
    const t = even ? i - halfSize + 0.5 : i - halfSize;
    const x = 2 * cutoff * t;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    f[i] = 2 * cutoff * win[i] * sinc;
    sum += f[i];
  }
  return Float32Array.from(f, (v) => v / sum);
}

const KERNEL = 12;
const RATIO = 2;

export const ANTIALIAS_FILTER = kaiserSincFilter(0.5 / RATIO, 0.6 / RATIO, KERNEL);

/** 2x up-sampling of [B, T, C] (BigVGAN UpSample1d): output [B, 2T, C]. */
export function upsample2x(x: JArray, filter: JArray): JArray {
  const pad = KERNEL / RATIO - 1; // 5
  const padLeft = pad * RATIO + (KERNEL - RATIO) / 2; // 15
  const T = x.shape[1];
  const xp = padTimeReplicate(x, pad, pad);
  // conv_transpose with stride 2 and no padding, times the ratio, then crop.
  const y = depthwiseConvTranspose1d(xp, filter.ref.mul(RATIO), RATIO, 0);
  return y.slice([], [padLeft, padLeft + RATIO * T], []);
}

/** Low-pass filtering and 2x down-sampling of [B, T, C] (BigVGAN DownSample1d): output [B, ceil(T/2), C]. */
export function downsample2x(x: JArray, filter: JArray): JArray {
  const xp = padTimeReplicate(x, KERNEL / 2 - 1, KERNEL / 2);
  return depthwiseConv1d(xp, filter, RATIO);
}

/** act applied at twice the sample rate between anti-aliasing filters. */
export function antiAliased(x: JArray, act: (x: JArray) => JArray, filter: JArray): JArray {
  return downsample2x(act(upsample2x(x, filter)), filter);
}

export function antialiasFilterArray(): JArray {
  return np.array(ANTIALIAS_FILTER);
}
