/**
 * initJax's fused multiply-add switch: on by default (V8's relaxed-SIMD flag on
 * Node 20), off with FLOWMAC_NO_FMA, and the two differ only by rounding.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { hasRelaxedSimd, initJax, jit, np, type JArray } from "../src/nn/runtime.js";
import { mm } from "../src/nn/layers.js";
import { Rng } from "../src/nn/rng.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

beforeAll(async () => {
  await initJax();
});

// The same product in this process and in a child; printed as float32 bit patterns.
const PRODUCT = `
  const { initJax, jit, np, hasRelaxedSimd } = await import("./src/nn/runtime.ts");
  const { mm } = await import("./src/nn/layers.ts");
  const { Rng } = await import("./src/nn/rng.ts");
  await initJax();
  const rng = new Rng(11);
  const a = np.array(rng.normalArray(64 * 256)).reshape([64, 256]);
  const b = np.array(rng.normalArray(256 * 48)).reshape([256, 48]);
  const y = jit((x, z) => mm(x, z))(a, b).dataSync();
  console.log(JSON.stringify({ fma: hasRelaxedSimd(), bits: Array.from(new Uint32Array(y.buffer, y.byteOffset, y.length)) }));
`;

function product(): Float32Array {
  const rng = new Rng(11);
  const a = np.array(rng.normalArray(64 * 256)).reshape([64, 256]);
  const b = np.array(rng.normalArray(256 * 48)).reshape([256, 48]);
  return jit((x: JArray, z: JArray) => mm(x, z))(a, b).dataSync() as Float32Array;
}

describe.skipIf(process.env.FLOWMAC_NO_FMA)("fused multiply-add", () => {
  it("is on after initJax, and matmul kernels use f32x4.relaxed_madd", () => {
    expect(hasRelaxedSimd()).toBe(true);
    const modules: Uint8Array[] = [];
    const Module = WebAssembly.Module;
    (WebAssembly as { Module: unknown }).Module = function (bytes: BufferSource) {
      modules.push(new Uint8Array(bytes as ArrayBuffer));
      return new Module(bytes);
    };
    try {
      jit((x: JArray, y: JArray) => np.matmul(x, y.transpose()))(np.zeros([96, 160]), np.zeros([40, 160])).dataSync();
    } finally {
      (WebAssembly as { Module: unknown }).Module = Module;
    }
    const relaxedMadd = [0xfd, 0x85, 0x02]; // SIMD prefix, LEB128 of opcode 261
    expect(modules.some((m) => m.some((_, i) => relaxedMadd.every((v, k) => m[i + k] === v)))).toBe(true);
  });

  it("FLOWMAC_NO_FMA=1 turns it off; the products then differ from fused ones only by rounding", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", PRODUCT], { cwd: root, encoding: "utf8", env: { ...process.env, FLOWMAC_NO_FMA: "1" } });
    expect(run.status, run.stderr).toBe(0);
    const child = JSON.parse(run.stdout.trim().split("\n").pop()!) as { fma: boolean; bits: number[] };
    expect(child.fma).toBe(false);
    const plain = new Float32Array(Uint32Array.from(child.bits).buffer);
    const fused = product();
    expect(plain.length).toBe(fused.length);
    let differing = 0;
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < fused.length; i++) {
      if (plain[i] !== fused[i]) differing++;
      maxDiff = Math.max(maxDiff, Math.abs(plain[i] - fused[i]));
      maxAbs = Math.max(maxAbs, Math.abs(fused[i]));
    }
    expect(differing).toBeGreaterThan(fused.length / 4); // one rounding fewer per multiply-add shows in most outputs
    expect(maxDiff / maxAbs).toBeLessThan(2e-6); // 256 terms of ~N(0,1): a few float32 ulps of the largest output
  });
});
