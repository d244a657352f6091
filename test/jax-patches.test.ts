/**
 * Our performance patches to @jax-js/jax (scripts/patch-jax-js.mjs): that npm
 * install applied them, and that they change speed only, never values.
 */
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { initJax, jit, lax, np, type JArray } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";

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
  return Float32Array.from(values);
}

const FUNCTIONS: [string, (x: JArray) => JArray, (x: number) => number, number][] = [
  // name, jax-js op, float64 reference, documented accuracy of the backend's approximation (absolute, or relative for exp)
  ["exp", (x) => np.exp(x), Math.exp, 5e-6], // argument reduction by one f32 ln 2: ~k * 2e-9 lost for e^(k ln 2)
  ["log", (x) => np.log(x), Math.log, 2e-5],
  ["erf", (x) => lax.erf(x), erf64, 5e-7],
  ["reciprocal", (x) => np.reciprocal(x), (x) => 1 / x, 1e-7],
];

describe("jax-js patches", () => {
  it("are installed in every build of the bundle (npm install ran scripts/patch-jax-js.mjs)", () => {
    const marks = ["/* flowmac-patch: contiguous dot operands */", "/* flowmac-patch: SIMD math */", "/* flowmac-patch: matmul micro-tile */"];
    const files = readdirSync(jaxDist).filter((f) => /^(index|backend-.*)\.c?js$/.test(f));
    for (const mark of marks) expect(files.filter((f) => readFileSync(join(jaxDist, f), "utf8").includes(mark)).length, mark).toBe(2);
  });

  it("an exp kernel compiles to SIMD code (f32x4.nearest, the first step of the vector exp)", () => {
    const modules: Uint8Array[] = [];
    const Module = WebAssembly.Module;
    // Record the bytes of every module jax-js compiles while this kernel is built.
    (WebAssembly as { Module: unknown }).Module = function (bytes: BufferSource) {
      modules.push(new Uint8Array(bytes as ArrayBuffer));
      return new Module(bytes);
    };
    try {
      jit((x: JArray) => np.exp(x).mul(3))(np.array(new Float32Array(1024).fill(0.25))).dataSync();
    } finally {
      (WebAssembly as { Module: unknown }).Module = Module;
    }
    const hasNearest = (b: Uint8Array) => b.some((v, i) => v === 0xfd && b[i + 1] === 0x6a);
    expect(modules.length).toBeGreaterThan(0);
    expect(modules.some(hasNearest)).toBe(true);
  });

  for (const [name, op, reference, accuracy] of FUNCTIONS) {
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
        if ((x[i] !== 0 && Math.abs(x[i]) < 1.2e-38) || !Number.isFinite(want) || Math.abs(want) > 1e30 || Math.abs(want) < 1e-30) continue;
        const err = name === "exp" ? Math.abs(vector[i] / want - 1) : Math.abs(vector[i] - want) / Math.max(1, name === "reciprocal" ? Math.abs(want) : 1);
        expect(err, `${name}(${x[i]}) = ${vector[i]}, want ${want}`).toBeLessThan(accuracy);
      }
    });
  }
});

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
