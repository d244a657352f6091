/**
 * initJax's fused multiply-add switch: on by default (V8's relaxed-SIMD flag on
 * Node 20), off with FLOWMAC_NO_FMA, and the two differ only by rounding.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { hasRelaxedSimd, initJax, jit, np, type JArray } from "../src/nn/runtime.js";
import { fmaProduct } from "./fma-product.js";
import { compiledModules, hasOpcode, maxScaledDiff } from "./helpers.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

beforeAll(async () => {
  await initJax();
});

// The child prints its product as float32 bit patterns.
const CHILD = `
  const { fmaProduct } = await import("./test/fma-product.ts");
  const { fma, values } = await fmaProduct();
  console.log(JSON.stringify({ fma, bits: Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length)) }));
`;

describe.skipIf(process.env.FLOWMAC_NO_FMA)("fused multiply-add", () => {
  it("is on after initJax, and matmul kernels use f32x4.relaxed_madd", () => {
    expect(hasRelaxedSimd()).toBe(true);
    const modules = compiledModules(() => jit((x: JArray, y: JArray) => np.matmul(x, y.transpose()))(np.zeros([96, 160]), np.zeros([40, 160])).dataSync());
    const relaxedMadd = [0xfd, 0x85, 0x02]; // SIMD prefix, LEB128 of opcode 261
    expect(modules.some((m) => hasOpcode(m, relaxedMadd))).toBe(true);
  });

  it("FLOWMAC_NO_FMA=1 turns it off; the products then differ from fused ones only by rounding", async () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD], { cwd: root, encoding: "utf8", env: { ...process.env, FLOWMAC_NO_FMA: "1" } });
    expect(run.status, run.stderr).toBe(0);
    const child = JSON.parse(run.stdout.trim().split("\n").pop()!) as { fma: boolean; bits: number[] };
    expect(child.fma).toBe(false);
    const plain = new Float32Array(Uint32Array.from(child.bits).buffer);
    const { fma, values: fused } = await fmaProduct();
    expect(fma).toBe(true);
    expect(plain.length).toBe(fused.length);
    const differing = fused.filter((v, i) => v !== plain[i]).length;
    expect(differing).toBeGreaterThan(fused.length / 4); // one rounding fewer per multiply-add shows in most outputs
    expect(maxScaledDiff(plain, fused)).toBeLessThan(2e-6); // 256 terms of ~N(0,1): a few float32 ulps of the largest output
  });
});
