/**
 * Layers as pure functions of (params, input). Activations are channels-last
 * [batch, time, channels]: on jax-js's wasm backend one 2-D matmul runs ~2.7x
 * faster than the batched matmul a channels-first conv needs (see bench).
 * Weights keep PyTorch's layouts ([out, in] linear, [out, in/groups, k] conv,
 * [in, out, k] transposed conv) so that reference weights load unchanged.
 *
 * Ownership: a layer consumes its activation input and never its params
 * (it takes `.ref` of each weight it uses), so one params tree serves a
 * whole forward pass.
 */
import type { ConvParams, LinearParams, NormParams } from "./init.js";
import { jnn, lax, np, random, type JArray } from "./runtime.js";
import { timeEmbeddingValues } from "./time-embedding.js";
import { conv1dWinograd3 } from "./winograd.js";

// ---------------------------------------------------------------- matmul

const LANES = 4;
/** n rounded up to a whole number of the wasm backend's 4 SIMD lanes. */
export const roundUpToLanes = (n: number) => Math.ceil(n / LANES) * LANES;

/**
 * Matrix product over the last two axes (leading axes broadcast, as np.matmul)
 * with the row, contraction and column sizes zero-padded to multiples of 4.
 * jax-js's wasm backend only vectorises a dot whose reduction length is a
 * multiple of its 4 SIMD lanes; a length like 1025 (STFT bins) runs ~15x
 * slower. The forward dot reduces over K, the two backward dots over M and
 * N, so all three are padded. Zeros add nothing: the result is exact.
 */
export function mm(a: JArray, b: JArray): JArray {
  // jax-js 0.1.25's np.matmul orders the batch axes wrongly when the left operand
  // has fewer of them than the right ([2,2] x [2,2,2] gives the rows of a x b[n]
  // interleaved): give it the full batch shape explicitly.
  if (a.shape.length < b.shape.length) a = np.broadcastTo(a, [...batchShape(a.shape, b.shape), ...a.shape.slice(-2)]);
  const M = a.shape[a.shape.length - 2];
  const K = a.shape[a.shape.length - 1];
  const N = b.shape[b.shape.length - 1];
  const [Mp, Kp, Np] = [roundUpToLanes(M), roundUpToLanes(K), roundUpToLanes(N)];
  if (Mp === M && Kp === K && Np === N) return np.matmul(a, b);
  const padLast2 = (x: JArray, r: number, c: number) => {
    if (r === 0 && c === 0) return x;
    const w: [number, number][] = x.shape.map(() => [0, 0] as [number, number]);
    w[w.length - 2] = [0, r];
    w[w.length - 1] = [0, c];
    return np.pad(x, w);
  };
  const y = np.matmul(padLast2(a, Mp - M, Kp - K), padLast2(b, Kp - K, Np - N));
  const idx: ([number, number] | [])[] = y.shape.map(() => [] as []);
  idx[idx.length - 2] = [0, M];
  idx[idx.length - 1] = [0, N];
  return y.slice(...idx);
}

/** The broadcast of two operands' leading (batch) axes, as np.matmul defines it. */
function batchShape(sa: number[], sb: number[]): number[] {
  const [ba, bb] = [sa.slice(0, -2), sb.slice(0, -2)];
  const rank = Math.max(ba.length, bb.length);
  return Array.from({ length: rank }, (_, i) => {
    const da = ba[i - (rank - ba.length)] ?? 1;
    const db = bb[i - (rank - bb.length)] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`mm: batch axes ${sa} and ${sb} do not broadcast`);
    return Math.max(da, db);
  });
}

// ---------------------------------------------------------------- linear

/** x[..., in] @ w^T + b, computed as one 2-D matmul. */
export function linear(p: LinearParams, x: JArray): JArray {
  const shape = x.shape;
  const inF = shape[shape.length - 1];
  const outF = p.w.shape[0];
  let y = mm(x.reshape([-1, inF]), p.w.ref.transpose());
  if (p.b) y = y.add(p.b.ref);
  return y.reshape([...shape.slice(0, -1), outF]);
}

// ---------------------------------------------------------------- convolution

export interface Conv1dOptions {
  stride?: number;
  padding?: number | [number, number];
  dilation?: number;
  groups?: number;
  /**
   * How a dense conv is computed: "im2col" (taps side by side, one matmul),
   * "winograd" (F(4,3), stride 1 and 3 taps only; see winograd.ts) or "auto",
   * which picks Winograd where it measured faster.
   */
  algorithm?: ConvAlgorithm;
}

export type ConvAlgorithm = "auto" | "im2col" | "winograd";

export function conv1dOutputLength(length: number, k: number, o: Conv1dOptions = {}): number {
  const [pl, pr] = padPair(o.padding ?? 0);
  const d = o.dilation ?? 1;
  const s = o.stride ?? 1;
  return Math.floor((length + pl + pr - d * (k - 1) - 1) / s) + 1;
}

function padPair(p: number | [number, number]): [number, number] {
  return typeof p === "number" ? [p, p] : p;
}

/** Pads the time axis of [B, T, C] with zeros. */
export function padTime(x: JArray, left: number, right: number): JArray {
  if (left === 0 && right === 0) return x;
  return np.pad(x, [[0, 0], [left, right], [0, 0]]);
}

/** Pads the time axis of [B, T, C] by repeating the edge frames. */
export function padTimeReplicate(x: JArray, left: number, right: number): JArray {
  const [B, T, C] = x.shape;
  const parts: JArray[] = [];
  if (left > 0) parts.push(np.broadcastTo(x.ref.slice([], [0, 1], []), [B, left, C]));
  parts.push(x.ref);
  if (right > 0) parts.push(np.broadcastTo(x.ref.slice([], [T - 1, T], []), [B, right, C]));
  x.dispose();
  return parts.length === 1 ? parts[0] : np.concatenate(parts, 1);
}

/**
 * The K shifted (and strided) views of a padded input that a convolution
 * combines: tap k holds xp[:, k*d + s*j, :] for j < outLen.
 */
function convTaps(xp: JArray, k: number, outLen: number, stride: number, dilation: number): JArray[] {
  const [B, Tp, C] = xp.shape;
  const need = (k - 1) * dilation + stride * outLen;
  if (need > Tp) xp = padTime(xp, 0, need - Tp);
  const taps: JArray[] = [];
  for (let i = 0; i < k; i++) {
    const start = i * dilation;
    if (stride === 1) taps.push(xp.ref.slice([], [start, start + outLen], []));
    else
      taps.push(
        xp.ref
          .slice([], [start, start + stride * outLen], [])
          .reshape([B, outLen, stride, C])
          .slice([], [], 0, [])
          .reshape([B, outLen, C]),
      );
  }
  xp.dispose();
  return taps;
}

let autoAlgorithm: ConvAlgorithm = "auto";

/**
 * Runs f with conv1d's "auto" choice replaced by `algorithm` wherever it applies.
 * The ONNX export uses it to keep one plain matmul per conv: onnxruntime's own
 * GEMMs gained nothing from Winograd's six smaller products and their transforms.
 */
export function withConvAlgorithm<T>(algorithm: ConvAlgorithm, f: () => T): T {
  const saved = autoAlgorithm;
  autoAlgorithm = algorithm;
  try {
    return f();
  } finally {
    autoAlgorithm = saved;
  }
}

/**
 * Winograd F(4,3) is used for stride-1 3-tap convs whose matmuls dominate:
 * at least 64 channels in and out and 128 output frames in the batch. Measured
 * (fwd+bwd, im2col / Winograd): 1.5-1.6x at 256 channels, 1.26x at 64, 1.09x
 * at 48, 0.76x at 32; 0.5-0.8x with 16-64 frames in all.
 */
function useWinograd(requested: ConvAlgorithm, K: number, stride: number, C: number, O: number, frames: number): boolean {
  const applicable = K === 3 && stride === 1;
  if (requested === "winograd" && !applicable) throw new Error(`conv1d: Winograd needs 3 taps and stride 1, got ${K} taps and stride ${stride}`);
  if (requested !== "auto") return requested === "winograd";
  if (autoAlgorithm !== "auto") return applicable && autoAlgorithm === "winograd";
  return applicable && Math.min(C, O) >= 64 && frames >= 128;
}

/** 1-D convolution, channels-last, PyTorch semantics (weight [out, in/groups, k]). */
export function conv1d(p: ConvParams, x: JArray, o: Conv1dOptions = {}): JArray {
  const [B, T, C] = x.shape;
  const [O, Ig, K] = p.w.shape;
  const groups = o.groups ?? 1;
  const s = o.stride ?? 1;
  const d = o.dilation ?? 1;
  const [pl, pr] = padPair(o.padding ?? 0);
  if (C !== Ig * groups) throw new Error(`conv1d: input has ${C} channels, weight expects ${Ig * groups}`);
  const outLen = conv1dOutputLength(T, K, o);
  let y: JArray;
  if (groups === 1) {
    if (K === 1 && s === 1 && pl === 0 && pr === 0) {
      y = mm(x.reshape([B * T, C]), p.w.ref.reshape([O, C]).transpose());
    } else if (useWinograd(o.algorithm ?? "auto", K, s, C, O, B * outLen)) {
      y = conv1dWinograd3(p.w, x, pl, pr, d, mm);
    } else {
      // im2col: concatenate the taps along channels, then one [B*T', K*C] x [K*C, O] matmul.
      const taps = convTaps(padTime(x, pl, pr), K, outLen, s, d);
      const cols = taps.length === 1 ? taps[0] : np.concatenate(taps, 2);
      const wmat = p.w.ref.transpose([2, 1, 0]).reshape([K * C, O]);
      y = mm(cols.reshape([B * outLen, K * C]), wmat);
    }
    y = y.reshape([B, outLen, O]);
  } else if (groups === C && O === C) {
    // Depthwise: a weighted sum of shifted copies, no matmul at all.
    const taps = convTaps(padTime(x, pl, pr), K, outLen, s, d);
    const w = p.w.ref.reshape([O, K]).transpose(); // [K, O]
    y = taps
      .map((t, i) => t.mul(w.ref.slice(i, [])))
      .reduce((a, b) => a.add(b));
    w.dispose();
  } else {
    // General groups: convolve each channel group separately.
    const xs = np.split(x, groups, 2);
    const ws = np.split(p.w.ref, groups, 0);
    const ys = xs.map((xg, g) => conv1d({ w: ws[g] }, xg, { stride: s, padding: [pl, pr], dilation: d, algorithm: o.algorithm }));
    y = np.concatenate(ys, 2);
  }
  if (p.b) y = y.add(p.b.ref);
  return y;
}

export interface ConvTranspose1dOptions {
  stride?: number;
  padding?: number;
  outputPadding?: number;
}

/**
 * Transposed 1-D convolution, channels-last, PyTorch semantics (weight [in, out, k]):
 * one matmul to all K*out products per input frame, then overlap-add of the
 * K taps, grouped by stride so that the adds are whole-array pads and sums.
 */
export function convTranspose1d(p: ConvParams, x: JArray, o: ConvTranspose1dOptions = {}): JArray {
  const [B, T, I] = x.shape;
  const [Iw, O, K] = p.w.shape;
  if (I !== Iw) throw new Error(`convTranspose1d: input has ${I} channels, weight expects ${Iw}`);
  const w2 = p.w.ref.transpose([0, 2, 1]).reshape([I, K * O]);
  const z = mm(x.reshape([B * T, I]), w2).reshape([B, T, K, O]);
  let y = overlapAdd(z, o.stride ?? 1);
  y = cropTransposed(y, T, K, o);
  if (p.b) y = y.add(p.b.ref);
  return y;
}

/** Overlap-add of per-frame taps z [B, T, K, C] with hop `s`: out[t*s + k] += z[t, k]. Returns [B, (T-1)*s + Kp, C]. */
export function overlapAdd(z: JArray, s: number): JArray {
  const [B, T, K, C] = z.shape;
  const m = Math.ceil(K / s);
  const Kp = m * s;
  if (Kp > K) z = np.pad(z, [[0, 0], [0, 0], [0, Kp - K], [0, 0]]);
  const z5 = z.reshape([B, T, m, s, C]);
  let acc: JArray | null = null;
  for (let j = 0; j < m; j++) {
    const zj = np.pad(z5.ref.slice([], [], j, [], []), [[0, 0], [j, m - 1 - j], [0, 0], [0, 0]]);
    acc = acc === null ? zj : acc.add(zj);
  }
  z5.dispose();
  return acc!.reshape([B, (T + m - 1) * s, C]);
}

function cropTransposed(y: JArray, T: number, K: number, o: ConvTranspose1dOptions): JArray {
  const s = o.stride ?? 1;
  const pad = o.padding ?? 0;
  const outLen = (T - 1) * s - 2 * pad + K + (o.outputPadding ?? 0);
  const have = y.shape[1];
  if (pad + outLen > have) y = padTime(y, 0, pad + outLen - have);
  return y.slice([], [pad, pad + outLen], []);
}

/** Depthwise transposed convolution with one fixed filter [K] shared by all channels. */
export function depthwiseConvTranspose1d(x: JArray, filter: JArray, stride: number, padding: number): JArray {
  const [B, T, C] = x.shape;
  const K = filter.shape[0];
  const z = x.reshape([B, T, 1, C]).mul(filter.ref.reshape([1, 1, K, 1]));
  return cropTransposed(overlapAdd(z, stride), T, K, { stride, padding });
}

/** Depthwise convolution with one fixed filter [K] shared by all channels. */
export function depthwiseConv1d(x: JArray, filter: JArray, stride: number): JArray {
  const [, T] = x.shape;
  const K = filter.shape[0];
  const outLen = Math.floor((T - K) / stride) + 1;
  const taps = convTaps(x, K, outLen, stride, 1);
  return taps.map((t, i) => t.mul(filter.ref.slice(i))).reduce((a, b) => a.add(b));
}

// ---------------------------------------------------------------- normalisation

/** LayerNorm over the last (channel) axis. */
export function layerNorm(p: NormParams, x: JArray, eps = 1e-5): JArray {
  const mu = x.ref.mean(-1, { keepdims: true });
  const xc = x.sub(mu);
  const v = np.square(xc.ref).mean(-1, { keepdims: true });
  return xc.mul(np.reciprocal(np.sqrt(v.add(eps)))).mul(p.g.ref).add(p.b.ref);
}

/**
 * GroupNorm of [B, T, C] with `groups` channel groups. `perFrame` false is
 * PyTorch's GroupNorm (statistics over time and the group's channels);
 * true takes the statistics per frame, so the output at a frame does not
 * depend on the sequence length (what block-wise streaming needs).
 */
export function groupNorm(p: NormParams, x: JArray, groups: number, eps = 1e-5, perFrame = false): JArray {
  const [B, T, C] = x.shape;
  const xr = x.reshape([B, T, groups, C / groups]);
  const axes = perFrame ? [3] : [1, 3];
  const mu = xr.ref.mean(axes, { keepdims: true });
  const xc = xr.sub(mu);
  const v = np.square(xc.ref).mean(axes, { keepdims: true });
  const y = xc.mul(np.reciprocal(np.sqrt(v.add(eps)))).reshape([B, T, C]);
  return y.mul(p.g.ref).add(p.b.ref);
}

// ---------------------------------------------------------------- activations

export const silu = (x: JArray): JArray => jnn.silu(x);
export const mish = (x: JArray): JArray => jnn.mish(x);
/**
 * Exact (erf) GELU, PyTorch's default, written as x/2 (1 + erf(x/sqrt 2)): the
 * chain the ONNX exporter (onnx/fuse.ts) turns into one Gelu op. onnxruntime's
 * own GELU fusion did not fire on our graphs, and jax-js's gelu (erfc of -x/sqrt 2)
 * gives a longer chain.
 */
export const gelu = (x: JArray): JArray => x.ref.mul(0.5).mul(lax.erf(x.mul(Math.SQRT1_2)).add(1));

/** Snake: x + 1/alpha sin^2(alpha x), alpha per channel (last axis). */
export function snake(alpha: JArray, x: JArray): JArray {
  const s = np.sin(x.ref.mul(alpha.ref));
  return x.add(np.square(s).mul(np.reciprocal(alpha.ref.add(1e-9))));
}

/** SnakeBeta with log-scale parameters: x + 1/(exp(beta)+1e-9) sin^2(exp(alpha) x). */
export function snakeBeta(logAlpha: JArray, logBeta: JArray, x: JArray): JArray {
  const s = np.sin(x.ref.mul(np.exp(logAlpha.ref)));
  return x.add(np.square(s).mul(np.reciprocal(np.exp(logBeta.ref).add(1e-9))));
}

// ---------------------------------------------------------------- attention

export interface AttentionParams {
  [key: string]: JArray | LinearParams;
  q: LinearParams;
  k: LinearParams;
  v: LinearParams;
  o: LinearParams;
}

export interface AttentionOptions {
  heads: number;
  /** Additive bias [T, T] (0 where attention is allowed, a large negative number elsewhere). */
  mask?: JArray;
  /** Banded local attention (see localAttention), instead of a mask. */
  band?: AttentionBand;
  /** Rotary position embedding tables, each [T, headDim/2]. */
  rope?: { cos: JArray; sin: JArray };
  /**
   * Additive bias per key frame [T] (0, or a large negative number for frames
   * outside the signal): a sequence padded to a fixed length then attends as
   * the unpadded one does, for the frames inside it. Borrowed, not consumed.
   */
  keyBias?: JArray;
}

/** Multi-head self-attention on [B, T, D]: softmax(q k^T / sqrt(d_head)) v per head. */
export function selfAttention(p: AttentionParams, x: JArray, o: AttentionOptions): JArray {
  const [B, T, D] = x.shape;
  const H = o.heads;
  const dh = D / H;
  const split = (y: JArray) => y.reshape([B, T, H, dh]).transpose([0, 2, 1, 3]); // [B, H, T, dh]
  let q = split(linear(p.q, x.ref));
  let k = split(linear(p.k, x.ref));
  const v = split(linear(p.v, x));
  if (o.rope) {
    q = applyRope(q, o.rope.cos.ref, o.rope.sin.ref);
    k = applyRope(k, o.rope.cos.ref, o.rope.sin.ref);
  }
  let ctx: JArray;
  if (o.band) ctx = bandedAttention(q, k, v, o.band, o.keyBias);
  else {
    let scores = mm(q, k.transpose([0, 1, 3, 2])).mul(1 / Math.sqrt(dh));
    if (o.mask) scores = scores.add(o.mask.ref);
    if (o.keyBias) scores = scores.add(o.keyBias.ref.reshape([1, 1, 1, T]));
    ctx = mm(jnn.softmax(scores, -1), v);
  }
  return linear(p.o, ctx.transpose([0, 2, 1, 3]).reshape([B, T, D]));
}

/** Queries in chunks of `chunk` frames, each seeing the chunk and `window` frames either side. */
export interface AttentionBand {
  window: number;
  chunk: number;
}

/**
 * How self-attention over T frames restricted to |i - j| <= window runs: banded
 * where that at least halves the scores computed (the same values as the masked
 * T x T product: the mask's exp(-1e9) terms are exactly 0), else with a mask.
 * Block-sized inference (T = 320, window 32) is banded; training segments
 * (T = 128) keep the masked product.
 */
export function localAttention(T: number, window: number): { mask?: JArray; band?: AttentionBand } {
  if (window <= 0 || window >= T) return {};
  for (const chunk of [2 * window, window]) if (T % chunk === 0 && 2 * (chunk + 2 * window) <= T) return { band: { window, chunk } };
  return { mask: localAttentionBias(T, window) };
}

const bandBiasCache = new Map<string, Float32Array>();

/** q, k, v [B, H, T, dh] -> [B, H, T, dh], attention within the band; `keyBias` [T] (borrowed) as in AttentionOptions. */
function bandedAttention(q: JArray, k: JArray, v: JArray, band: AttentionBand, keyBias?: JArray): JArray {
  const [B, H, T, dh] = q.shape;
  const { window: w, chunk: C } = band;
  const n = T / C;
  const spans = 1 + (2 * w) / C; // key chunks per query chunk
  const keys = spans * C;
  // Keys and values padded by w each side, cut into chunks; chunk c of the queries sees padded chunks c .. c + spans - 1.
  const windows = (x: JArray) => {
    const chunks = np.pad(x, [[0, 0], [0, 0], [w, w], [0, 0]]).reshape([B, H, n + spans - 1, C, dh]);
    const parts = Array.from({ length: spans }, (_, s) => chunks.ref.slice([], [], [s, s + n]));
    chunks.dispose();
    return np.concatenate(parts, 3); // [B, H, n, keys, dh]
  };
  const key = `${T},${w},${C}`;
  let bias = bandBiasCache.get(key);
  if (!bias) {
    bias = new Float32Array(n * C * keys);
    for (let c = 0; c < n; c++)
      for (let r = 0; r < C; r++)
        for (let m = 0; m < keys; m++) {
          const i = c * C + r;
          const j = c * C - w + m;
          if (Math.abs(i - j) > w || j < 0 || j >= T) bias[(c * C + r) * keys + m] = -1e9;
        }
    bandBiasCache.set(key, bias);
  }
  let scores = mm(q.reshape([B, H, n, C, dh]), windows(k).transpose([0, 1, 2, 4, 3]))
    .mul(1 / Math.sqrt(dh))
    .add(np.array(bias).reshape([n, C, keys]));
  if (keyBias) {
    // The keys' biases cut into the same windows as the keys (the padding beyond the ends is masked by `bias`).
    const kb = np.pad(keyBias.ref.reshape([T]), [[w, w]]).reshape([n + spans - 1, C]);
    const parts = Array.from({ length: spans }, (_, s) => kb.ref.slice([s, s + n]));
    kb.dispose();
    scores = scores.add(np.concatenate(parts, 1).reshape([1, 1, n, 1, keys]));
  }
  return mm(jnn.softmax(scores, -1), windows(v)).reshape([B, H, T, dh]);
}

/**
 * Rotary embedding on [B, H, T, dh] (rotate-half convention): with x = [x1, x2]
 * halves, [x1 c - x2 s, x2 c + x1 s]. Written as x * [c, c] + flip(x) * [-s, s]
 * over a [.., 2, dh/2] view (the same values: a + b*(-s) is a - b*s exactly), so
 * forward and backward are each one element-wise kernel; slicing the halves and
 * concatenating them ran as masked scalar kernels (~17 ms of a 6-block step).
 */
export function applyRope(x: JArray, cos: JArray, sin: JArray): JArray {
  const [B, H, T, dh] = x.shape;
  const half = dh / 2;
  const c = cos.reshape([1, 1, -1, 1, half]);
  const s = sin.reshape([1, 1, -1, 1, half]);
  const signedSin = np.concatenate([s.ref.mul(-1), s], 3);
  const halves = x.reshape([B, H, T, 2, half]);
  return halves.ref.mul(c).add(np.flip(halves, 3).mul(signedSin)).reshape([B, H, T, dh]);
}

/** Host-side RoPE tables for positions 0..T-1 (base 10000). */
export function ropeTables(T: number, headDim: number, offset = 0): { cos: JArray; sin: JArray } {
  const half = headDim / 2;
  const cos = new Float32Array(T * half);
  const sin = new Float32Array(T * half);
  for (let t = 0; t < T; t++)
    for (let i = 0; i < half; i++) {
      const a = (t + offset) * Math.pow(10000, -i / half);
      cos[t * half + i] = Math.cos(a);
      sin[t * half + i] = Math.sin(a);
    }
  return { cos: np.array(cos).reshape([T, half]), sin: np.array(sin).reshape([T, half]) };
}

/** Additive attention bias [T, T] letting frame i see frames j with |i - j| <= window (all if window is 0). */
export function localAttentionBias(T: number, window: number): JArray {
  const m = new Float32Array(T * T);
  if (window > 0) for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) if (Math.abs(i - j) > window) m[i * T + j] = -1e9;
  return np.array(m).reshape([T, T]);
}

// ---------------------------------------------------------------- misc

export type FeedForwardParams = { l1: LinearParams; l2: LinearParams };

export function feedForward(p: FeedForwardParams, x: JArray, act: (x: JArray) => JArray = gelu): JArray {
  return linear(p.l2, act(linear(p.l1, x)));
}

/** Inverted dropout: zeroes with probability `rate` and rescales, when `key` is given (training). */
export function dropout(x: JArray, rate: number, key: JArray | null): JArray {
  if (!key || rate <= 0) {
    key?.dispose();
    return x;
  }
  const keep = random.bernoulli(key, 1 - rate, x.shape);
  return np.where(keep, x.mul(1 / (1 - rate)), 0);
}

export function embedding(table: JArray, ids: JArray): JArray {
  return np.take(table.ref, ids, 0);
}

/** The sinusoidal time embedding [B, dim] of host times t (see time-embedding.ts). */
export function sinusoidalEmbedding(t: ArrayLike<number>, dim: number, scale = 1000): JArray {
  return np.array(timeEmbeddingValues(t, dim, scale)).reshape([t.length, dim]);
}
