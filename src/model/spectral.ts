/**
 * STFT pieces inside jax-js graphs (differentiable): framing by reshapes and
 * slices, real DFT and inverse real DFT as matmuls with fixed bases, mel
 * projection. Used by the Vocos iSTFT head and by the vocoder's losses and
 * spectral discriminators.
 */
import { hannWindow, istftEnvelope } from "../audio/stft.js";
import { slaneyFilterbank } from "../audio/melscale.js";
import { mm, overlapAdd, roundUpToLanes } from "../nn/layers.js";
import { np, type JArray } from "../nn/runtime.js";

const cache = new Map<string, Float32Array>();
function cached(key: string, make: () => Float32Array): Float32Array {
  let v = cache.get(key);
  if (!v) cache.set(key, (v = make()));
  return v;
}

/**
 * Forward real DFT bases with the analysis window folded in, bin-major:
 * [rows, nFft] each, row k < bins holding bin k and the rows up to a multiple
 * of 4 zero. Frames [F, nFft] times the transposed view gives [F, rows] with
 * no copy: the matmul reads both operands along nFft, contiguous here, where a
 * [nFft, bins] basis was padded and transposed into a new buffer at every call
 * (~3.6 ms each for nFft 2048, 12 per vocoder GAN step).
 */
export function dftBasesByBin(nFft: number): { cos: Float32Array; sin: Float32Array; rows: number } {
  const bins = nFft / 2 + 1;
  const rows = roundUpToLanes(bins);
  const w = hannWindow(nFft);
  const make = (f: (x: number) => number) => () => {
    const m = new Float32Array(rows * nFft);
    for (let k = 0; k < bins; k++) for (let n = 0; n < nFft; n++) m[k * nFft + n] = w[n] * f((2 * Math.PI * k * n) / nFft);
    return m;
  };
  return { cos: cached(`cos${nFft}`, make(Math.cos)), sin: cached(`sin${nFft}`, make((x) => -Math.sin(x))), rows };
}

/**
 * Half inverse real DFT bases with the synthesis window folded in, for output
 * samples n = 0..nFft/2. Since cos is even and sin odd in n, and the periodic Hann
 * window is symmetric (w[nFft - n] = w[n]), the other half follows:
 * x[n] = A[n] + B[n] and x[nFft - n] = A[n] - B[n] with A = Re @ C, B = Im @ S.
 * Half the multiply-adds of the full bases. Sample-major, as dftBasesByBin and for
 * the same reason: [size, size] each, row n holding sample n's weights over the
 * bins, size = nFft/2 + 1 rounded up to a multiple of 4, the padding zero.
 */
export function idftHalfBasesBySample(nFft: number): { cos: Float32Array; sin: Float32Array; size: number } {
  const bins = nFft / 2 + 1;
  const cols = nFft / 2 + 1;
  const size = roundUpToLanes(bins);
  const w = hannWindow(nFft);
  const make = (f: (x: number) => number) => () => {
    const m = new Float32Array(size * size);
    for (let k = 0; k < bins; k++) {
      const c = k === 0 || k === nFft / 2 ? 1 : 2;
      for (let n = 0; n < cols; n++) m[n * size + k] = (w[n] * c * f((2 * Math.PI * k * n) / nFft)) / nFft;
    }
    return m;
  };
  return { cos: cached(`ihcos${nFft}`, make(Math.cos)), sin: cached(`ihsin${nFft}`, make((x) => -Math.sin(x))), size };
}

/**
 * Frames of audio [B, N] with window nFft = r * hop (r integer), no padding:
 * [B, F, nFft] with F = N / hop - r + 1 (N a multiple of hop).
 */
export function frameAudio(x: JArray, nFft: number, hop: number): JArray {
  const [B, N] = x.shape;
  const r = nFft / hop;
  if (!Number.isInteger(r) || N % hop !== 0) throw new Error(`frameAudio: need nFft a multiple of hop and N a multiple of hop`);
  const chunks = x.reshape([B, N / hop, hop]);
  const F = N / hop - r + 1;
  const parts: JArray[] = [];
  for (let i = 0; i < r; i++) parts.push(chunks.ref.slice([], [i, i + F], []));
  chunks.dispose();
  return np.concatenate(parts, 2);
}

/** Magnitude spectrogram [B, F, bins] of audio [B, N] (Hann window, no centring). */
export function magnitude(x: JArray, nFft: number, hop: number): JArray {
  const frames = frameAudio(x, nFft, hop);
  const [B, F] = frames.shape;
  const bins = nFft / 2 + 1;
  const { cos, sin, rows } = dftBasesByBin(nFft);
  const f2 = frames.reshape([B * F, nFft]);
  const project = (x: JArray, basis: Float32Array) => mm(x, np.array(basis).reshape([rows, nFft]).transpose()).slice([], [0, bins]);
  const re = project(f2.ref, cos);
  const im = project(f2, sin);
  return np.sqrt(np.square(re).add(np.square(im)).add(1e-9)).reshape([B, F, bins]);
}

export function melBasis(nFft: number, nMels: number, sampleRate = 24000): Float32Array {
  return cached(`mel${nFft}_${nMels}`, () => Float32Array.from(slaneyFilterbank(nFft / 2 + 1, nMels, sampleRate, 0, sampleRate / 2)));
}

/** Natural-log mel [B, F, nMels] of audio [B, N] (floor 1e-5), as the front end computes it. */
export function logMel(x: JArray, nFft: number, hop: number, nMels: number): JArray {
  const mag = magnitude(x, nFft, hop);
  const [B, F, bins] = mag.shape;
  const mel = mm(mag.reshape([B * F, bins]), np.array(melBasis(nFft, nMels)).reshape([bins, nMels]));
  return np.log(np.maximum(mel, 1e-5)).reshape([B, F, nMels]);
}

/**
 * Inverse STFT with centre=true semantics from real and imaginary parts
 * [B, T, bins]: windowed overlap-add divided by the squared-window envelope.
 * Returns [B, T * hop]: sample 0 sits at the centre of frame 0.
 */
export function istft(re: JArray, im: JArray, nFft: number, hop: number): JArray {
  const [B, T, bins] = re.shape;
  const half = nFft / 2;
  const { cos, sin, size } = idftHalfBasesBySample(nFft);
  const project = (x: JArray, basis: Float32Array) =>
    mm(np.pad(x.reshape([B * T, bins]), [[0, 0], [0, size - bins]]), np.array(basis).reshape([size, size]).transpose()).slice([], [0, half + 1]);
  const a = project(re, cos);
  const b = project(im, sin);
  // Samples 0..half from A + B; samples half+1..nFft-1 are (A - B) at n = half-1..1, reversed.
  const tail = np.flip(a.ref.sub(b.ref).slice([], [1, half]), 1);
  const frames = np.concatenate([a.add(b), tail], 1).reshape([B, T, nFft, 1]);
  const y = overlapAdd(frames, hop).reshape([B, -1]); // [(T-1)*hop + nFft]
  const out = T * hop;
  const env = np.array(istftEnvelope(nFft, hop, T));
  return y.slice([], [half, half + out]).mul(env);
}
