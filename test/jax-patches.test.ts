/**
 * Our performance patches to @jax-js/jax (scripts/patch-jax-js.mjs): that npm
 * install applied them, and that they change speed only, never values.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { initJax, jit, lax, np, type JArray } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";
import { mm } from "../src/nn/layers.js";
import { compiledModules, hasOpcode } from "./helpers.js";

const require = createRequire(import.meta.url);
const jaxDist = dirname(require.resolve("@jax-js/jax"));

beforeAll(async () => {
  await initJax();
});

/** Edge cases for each function's special-case branches, then random values over many magnitudes. */
function probeValues(): Float32Array {
  const special = [0, -0, 1, -1, 0.5, -0.5, 2, 10, -10, 1e-7, 1e-30, -1e-30, 1e-45, 3e38, -3e38, Infinity, -Infinity, NaN, 88.7, 88.8, -87.3, -87.4, -103, 89, 5.5, -5.5];
  const rng = new Rng(7);
  const values = [...special];
  for (let i = 0; i < 2000; i++) values.push((rng.uniform() - 0.5) * 10 ** (rng.uniform() * 8 - 3));
  // A multiple of 4 long: a kernel takes its SIMD path only over a 4-aligned range.
  while (values.length % 4 !== 0) values.push((rng.uniform() - 0.5) * 10);
  return Float32Array.from(values);
}

const FUNCTIONS: [string, (x: JArray) => JArray, (x: number) => number, number, number?][] = [
  // name, jax-js op, float64 reference, documented accuracy of the backend's approximation (absolute, or relative for exp),
  // and the largest |x| the accuracy is checked for (sin and cos reduce by one float32 2 pi: the error grows with |x|)
  ["exp", (x) => np.exp(x), Math.exp, 5e-6], // argument reduction by one f32 ln 2: ~k * 2e-9 lost for e^(k ln 2)
  ["log", (x) => np.log(x), Math.log, 2e-5],
  ["erf", (x) => lax.erf(x), erf64, 5e-7],
  ["reciprocal", (x) => np.reciprocal(x), (x) => 1 / x, 1e-7],
  ["sin", (x) => np.sin(x), Math.sin, 2e-5, 100],
  ["cos", (x) => np.cos(x), Math.cos, 2e-5, 100],
];

describe("jax-js patches", () => {
  it("are installed in every build of the bundle (npm install ran scripts/patch-jax-js.mjs)", () => {
    const marks = ["/* flowmac-patch: contiguous dot operands */", "/* flowmac-patch: SIMD math */", "/* flowmac-patch: matmul micro-tile */", "/* flowmac-patch: shared matmul pointers */", "/* flowmac-patch: SIMD max reduction */", "/* flowmac-patch: one instance per kernel */", "/* flowmac-patch: strided lane loads */", "/* flowmac-patch: matmul pointer offsets */", "/* flowmac-patch: lane-uniform masks */", "/* flowmac-patch: SIMD sin and cos */"];
    const files = readdirSync(jaxDist).filter((f) => /^(index|backend-.*)\.c?js$/.test(f));
    for (const mark of marks) expect(files.filter((f) => readFileSync(join(jaxDist, f), "utf8").includes(mark)).length, mark).toBe(2);
  });

  it("the patch script refuses to skip a patch it does not have, in one line, before touching the bundle", () => {
    const script = join(dirname(fileURLToPath(import.meta.url)), "../scripts/patch-jax-js.mjs");
    const r = spawnSync(process.execPath, [script], { env: { ...process.env, FLOWMAC_JAX_PATCHES_SKIP: "SIMD math,no such patch" }, encoding: "utf8" });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/FLOWMAC_JAX_PATCHES_SKIP names no patch 'no such patch' \(patches: contiguous dot operands, SIMD math,/);
  });

  it("batched and broadcast matmuls (the shared-pointer patch's cases) equal a float64 host product", () => {
    const rng = new Rng(3);
    const cases: [number[], number[]][] = [
      [[8, 4, 128, 32], [8, 4, 32, 128]], // attention scores
      [[8, 4, 128, 128], [8, 4, 128, 32]], // attention probabilities x values
      [[3, 5, 8, 12], [3, 5, 12, 8]],
      [[2, 16, 20], [2, 20, 12]],
      [[6, 12, 8], [8, 16]], // batch broadcast on the right
      [[2, 3, 7, 9], [2, 3, 9, 5]], // sizes that are not multiples of 4 (scalar fallback)
      [[6, 4, 8], [6, 8, 12]], // one micro-tile of rows per batch entry
      [[3, 8, 16], [16, 4]],
      [[256, 128], [128, 64]], // plain 2-D (offset pointers for rows and columns)
    ];
    for (const [sa, sb] of cases) {
      const a = rng.normalArray(sa.reduce((p, q) => p * q, 1));
      const b = rng.normalArray(sb.reduce((p, q) => p * q, 1));
      const got = jit((x: JArray, y: JArray) => np.matmul(x, y))(np.array(a).reshape(sa), np.array(b).reshape(sb)).dataSync() as Float32Array;
      const want = hostMatmul(a, sa, b, sb);
      expect(got.length).toBe(want.length);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
      expect(worst, `${sa} x ${sb}`).toBeLessThan(1e-5);
    }
  });

  it("mm broadcasts a lower-rank left operand (jax-js 0.1.25's np.matmul orders such a result's axes wrongly)", () => {
    const rng = new Rng(4);
    for (const [sa, sb] of [[[12, 8], [4, 8, 16]], [[5, 12, 8], [3, 5, 8, 16]], [[2, 3], [2, 1, 3, 4]]] as [number[], number[]][]) {
      const a = rng.normalArray(sa.reduce((p, q) => p * q, 1));
      const b = rng.normalArray(sb.reduce((p, q) => p * q, 1));
      const got = mm(np.array(a).reshape(sa), np.array(b).reshape(sb)).dataSync() as Float32Array;
      const want = hostMatmul(a, sa, b, sb);
      expect(got.length).toBe(want.length);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(1e-5 * (1 + Math.abs(want[i])));
    }
  });

  it("element-wise kernels reading transposed, flipped and strided views equal the host's values exactly", () => {
    const cases: [string, number[], (x: JArray) => JArray, (x: Float32Array, shape: number[]) => Float32Array][] = [];
    for (const [shape, perm] of [
      [[1024, 128], [1, 0]], [[512, 1024], [1, 0]], [[8, 4, 128, 128], [0, 1, 3, 2]], [[8, 128, 4, 32], [0, 2, 1, 3]],
      [[6, 10], [1, 0]], [[12, 8], [1, 0]], [[3, 5, 8], [2, 0, 1]], [[4, 6, 4], [1, 2, 0]], [[2, 3, 4, 5], [3, 1, 0, 2]],
      [[16, 12, 20], [1, 0, 2]], [[5, 4, 3, 4], [3, 2, 1, 0]], [[36, 40], [1, 0]], [[7, 64], [1, 0]],
    ] as [number[], number[]][])
      cases.push([`transpose ${shape} -> ${perm}`, shape, (x) => np.transpose(x, perm).mul(2), (x, s) => hostTranspose(x, s, perm).map((v) => v * 2)]);
    cases.push(["a transposed and a contiguous input", [32, 48], (x) => np.transpose(x.ref, [1, 0]).add(x.reshape([48, 32]).mul(3)), (x, s) => {
      const t = hostTranspose(x, s, [1, 0]);
      return t.map((v, i) => v + Math.fround(x[i] * 3));
    }]);
    cases.push(["flip of a [.., 2, 16] view (RoPE)", [8, 4, 2, 16], (x) => np.flip(x.ref, 2).mul(x), (x) => x.map((v, i) => x[i ^ 16] * v)]);
    cases.push(["every other column", [64, 64], (x) => x.reshape([64, 32, 2]).slice([], [], [0, 1]).reshape([64, 32]).add(1), (x) => Float32Array.from({ length: 64 * 32 }, (_, i) => x[Math.floor(i / 32) * 64 + (i % 32) * 2] + 1)]);
    for (const [name, shape, f, want] of cases) {
      const size = shape.reduce((a, b) => a * b, 1);
      const host = Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37) * 100 + i);
      const got = jit(f)(np.array(host).reshape(shape)).dataSync() as Float32Array;
      expect([...got], name).toEqual([...want(host, shape)]);
    }
  });

  it("concatenations and zero padding (masked views: the lane-uniform-mask patch's cases) equal the host's values exactly", () => {
    const rng = new Rng(11);
    const host = (shape: number[]) => Float32Array.from(rng.normalArray(shape.reduce((a, b) => a * b, 1)));
    // Concatenate along the last axis, widths multiples of 4 or not.
    for (const widths of [[256, 256, 256], [4, 8], [5, 7], [16, 3, 9], [32, 32]]) {
      const rows = 6;
      const parts = widths.map((w) => host([rows, w]));
      const got = jit((...xs: JArray[]) => np.concatenate(xs, 1).mul(2))(...parts.map((p, i) => np.array(p).reshape([rows, widths[i]]))).dataSync() as Float32Array;
      const total = widths.reduce((a, b) => a + b, 0);
      const want = new Float32Array(rows * total);
      for (let r = 0; r < rows; r++) {
        let at = 0;
        widths.forEach((w, i) => {
          for (let c = 0; c < w; c++) want[r * total + at + c] = parts[i][r * w + c] * 2;
          at += w;
        });
      }
      expect([...got], `concatenate ${widths}`).toEqual([...want]);
    }
    // conv1d's taps: time shifts of a zero-padded [B, T, C] input, side by side (im2col).
    for (const [B, T, C, pad] of [[2, 16, 8, 1], [2, 12, 4, 2], [1, 10, 6, 1], [3, 8, 16, 3]]) {
      const x = host([B, T, C]);
      const taps = 2 * pad + 1;
      const got = jit((a: JArray) => {
        const xp = np.pad(a, [[0, 0], [pad, pad], [0, 0]]);
        return np.concatenate(Array.from({ length: taps }, (_, k) => xp.ref.slice([], [k, k + T], [])), 2).add(1);
      })(np.array(x).reshape([B, T, C])).dataSync() as Float32Array;
      const want = new Float32Array(B * T * taps * C);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let k = 0; k < taps; k++)
            for (let c = 0; c < C; c++) {
              const s = t + k - pad;
              want[((b * T + t) * taps + k) * C + c] = (s >= 0 && s < T ? x[(b * T + s) * C + c] : 0) + 1;
            }
      expect([...got], `taps of [${B},${T},${C}] padded by ${pad}`).toEqual([...want]);
    }
  });

  it("strided taps of a padded, reshaped signal (a period discriminator's input) equal the host's values exactly", () => {
    const rng = new Rng(12);
    for (const [B, T, period, K, stride, pad] of [[2, 30, 4, 5, 3, 2], [3, 50, 5, 5, 3, 2], [1, 64, 8, 3, 1, 1]]) {
      const x = Float32Array.from(rng.normalArray(B * T));
      const right = (period - (T % period)) % period;
      const n = (T + right) / period;
      const outLen = Math.floor((n + 2 * pad - K) / stride) + 1;
      const got = jit((a: JArray) => {
        const frames = np.pad(a, [[0, 0], [0, right]]).reshape([B, n, period]).transpose([0, 2, 1]); // [B, period, n]
        const xp = np.pad(frames, [[0, 0], [0, 0], [pad, pad]]);
        // Each tap: frames k, k + stride, ... (as conv1d's im2col takes them), zero beyond the end.
        const need = K - 1 + stride * outLen;
        const xq = np.pad(xp, [[0, 0], [0, 0], [0, Math.max(0, need - (n + 2 * pad))]]);
        const taps = Array.from({ length: K }, (_, k) =>
          xq.ref.slice([], [], [k, k + stride * outLen]).reshape([B, period, outLen, stride]).slice([], [], [], 0).reshape([B, period, outLen, 1]),
        );
        xq.dispose();
        return np.concatenate(taps, 3).mul(3);
      })(np.array(x).reshape([B, T])).dataSync() as Float32Array;
      const want = new Float32Array(B * period * outLen * K);
      for (let b = 0; b < B; b++)
        for (let j = 0; j < period; j++)
          for (let t = 0; t < outLen; t++)
            for (let k = 0; k < K; k++) {
              const src = t * stride + k - pad; // frame index
              const sample = src * period + j;
              const v = src >= 0 && src < n && sample < T ? x[b * T + sample] : 0;
              want[((b * period + j) * outLen + t) * K + k] = v * 3;
            }
      expect([...got], `[${B},${T}] period ${period}, ${K} taps, stride ${stride}`).toEqual([...want]);
    }
  });

  it("a concatenation runs on SIMD lanes (v128.bitselect) though its masks use integer division", () => {
    const modules = compiledModules(() => jit((a: JArray, b: JArray) => np.concatenate([a, b], 1).mul(3))(np.zeros([24, 64]), np.zeros([24, 32])).dataSync());
    expect(modules.some((b) => hasOpcode(b, [0xfd, 0x52]))).toBe(true);
  });

  it("a transposing copy loads its 4 lanes at fixed offsets (f32.load offset=512 for a row stride of 128)", () => {
    const modules = compiledModules(() => jit((x: JArray) => np.transpose(x, [1, 0]).mul(2))(np.zeros([256, 128])).dataSync());
    expect(modules.some((b) => hasOpcode(b, [0x2a, 0x02, 0x80, 0x04]))).toBe(true);
  });

  it("a matmul micro-tile reads its other rows at constant offsets from one pointer (v128.load offset=512 for K = 128)", () => {
    const modules = compiledModules(() => jit((x: JArray, y: JArray) => np.matmul(x, y.transpose()))(np.zeros([192, 128]), np.zeros([48, 128])).dataSync());
    expect(modules.some((b) => hasOpcode(b, [0xfd, 0x00, 0x04, 0x80, 0x04]))).toBe(true);
  });

  it("an exp kernel compiles to SIMD code (f32x4.nearest, the first step of the vector exp)", () => {
    const modules = compiledModules(() => jit((x: JArray) => np.exp(x).mul(3))(np.array(new Float32Array(1024).fill(0.25))).dataSync());
    expect(modules.length).toBeGreaterThan(0);
    expect(modules.some((b) => hasOpcode(b, [0xfd, 0x6a]))).toBe(true);
  });

  it("a row max (softmax's) runs on SIMD lanes (f32x4.max) and equals the host maximum exactly, with -0, infinities and NaN", () => {
    const rows = 64;
    const cols = 128;
    const rng = new Rng(9);
    const x = Float32Array.from(rng.normalArray(rows * cols));
    x[3] = Infinity; // row 0
    x[cols + 5] = NaN; // row 1
    for (let j = 0; j < cols; j++) x[2 * cols + j] = j % 2 ? -0 : -Infinity; // row 2: max is -0
    x[3 * cols + 127] = -Infinity; // row 3
    x[4 * cols + 64] = 1e30; // row 4
    let got = new Float32Array(0);
    const modules = compiledModules(() => {
      got = jit((a: JArray) => a.max(-1))(np.array(x).reshape([rows, cols])).dataSync() as Float32Array;
    });
    expect(modules.some((b) => hasOpcode(b, [0xfd, 0xe9, 0x01]))).toBe(true);
    for (let r = 0; r < rows; r++) {
      const row = x.subarray(r * cols, (r + 1) * cols);
      const want = row.some(Number.isNaN) ? NaN : row.reduce((m, v) => (v > m || (v === 0 && m === 0 && Object.is(m, -0)) ? v : m), -Infinity);
      expect(Object.is(got[r], want) || (Number.isNaN(got[r]) && Number.isNaN(want)), `row ${r}: ${got[r]} vs ${want}`).toBe(true);
    }
  });

  for (const [name, op, reference, accuracy, domain = Infinity] of FUNCTIONS) {
    it(`${name}: the SIMD path equals the scalar path bit for bit, and the reference to ${accuracy}`, () => {
      const x = probeValues();
      const f = jit(op);
      const vector = f(np.array(x)).dataSync() as Float32Array; // 4-lane kernel over the whole array
      const scalar = new Float32Array(x.length);
      // Kernels of fewer than 4 elements always run the scalar code.
      for (let i = 0; i < x.length; i += 3) scalar.set(f(np.array(x.slice(i, i + 3))).dataSync() as Float32Array, i);
      const vBits = new Int32Array(vector.buffer);
      const sBits = new Int32Array(scalar.buffer);
      const mismatches = [...x.keys()].filter((i) => vBits[i] !== sBits[i] && !(Number.isNaN(vector[i]) && Number.isNaN(scalar[i])));
      expect(mismatches.map((i) => `x=${x[i]}: ${vector[i]} vs ${scalar[i]}`)).toEqual([]);
      for (let i = 0; i < x.length; i++) {
        const want = reference(x[i]);
        // Skipped: subnormal inputs (the backend's log treats them as 0, by design), overflow and denormal results.
        if ((x[i] !== 0 && Math.abs(x[i]) < 1.2e-38) || Math.abs(x[i]) > domain || !Number.isFinite(want) || Math.abs(want) > 1e30 || Math.abs(want) < 1e-30) continue;
        const err = name === "exp" ? Math.abs(vector[i] / want - 1) : Math.abs(vector[i] - want) / Math.max(1, name === "reciprocal" ? Math.abs(want) : 1);
        expect(err, `${name}(${x[i]}) = ${vector[i]}, want ${want}`).toBeLessThan(accuracy);
      }
    });
  }
});

/** np.transpose on the host. */
function hostTranspose(x: Float32Array, shape: number[], perm: number[]): Float32Array {
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const outShape = perm.map((p) => shape[p]);
  const out = new Float32Array(x.length);
  for (let o = 0; o < x.length; o++) {
    let rest = o;
    let src = 0;
    for (let d = outShape.length - 1; d >= 0; d--) {
      src += (rest % outShape[d]) * strides[perm[d]];
      rest = Math.floor(rest / outShape[d]);
    }
    out[o] = x[src];
  }
  return out;
}

/** np.matmul in float64 on the host: leading axes broadcast, [.., M, K] x [.., K, N]. */
function hostMatmul(a: Float32Array, sa: number[], b: Float32Array, sb: number[]): Float64Array {
  const [M, K] = sa.slice(-2);
  const N = sb[sb.length - 1];
  const ba = sa.slice(0, -2);
  const bb = sb.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
  const [pa, pb] = [pad(ba), pad(bb)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const count = batch.reduce((p, q) => p * q, 1);
  const out = new Float64Array(count * M * N);
  for (let n = 0; n < count; n++) {
    // Batch index -> offsets into a and b (size-1 axes broadcast).
    let rest = n;
    let oa = 0;
    let ob = 0;
    let stA = 1;
    let stB = 1;
    for (let i = rank - 1; i >= 0; i--) {
      const idx = rest % batch[i];
      rest = Math.floor(rest / batch[i]);
      oa += (pa[i] === 1 ? 0 : idx) * stA;
      ob += (pb[i] === 1 ? 0 : idx) * stB;
      stA *= pa[i];
      stB *= pb[i];
    }
    for (let m = 0; m < M; m++)
      for (let j = 0; j < N; j++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += a[(oa * M + m) * K + k] * b[(ob * K + k) * N + j];
        out[(n * M + m) * N + j] = sum;
      }
  }
  return out;
}

/** erf in float64: Maclaurin series for |x| < 2.5, else the continued fraction of erfc (~1e-15). */
function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 2.5) {
    let sum = ax;
    let term = ax;
    for (let n = 1; n < 100; n++) {
      term *= (-ax * ax) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (ax + f);
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / (ax + f);
  return Math.sign(x) * (1 - erfc);
}
