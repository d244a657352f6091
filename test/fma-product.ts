/** One seeded matmul through jax-js, for comparing runs with fused multiply-adds on and off (test/runtime.test.ts). */
import { hasRelaxedSimd, initJax, jit, np, type JArray } from "../src/nn/runtime.js";
import { mm } from "../src/nn/layers.js";
import { Rng } from "../src/nn/rng.js";

export async function fmaProduct(): Promise<{ fma: boolean; values: Float32Array }> {
  await initJax();
  const rng = new Rng(11);
  const a = np.array(rng.normalArray(64 * 256)).reshape([64, 256]);
  const b = np.array(rng.normalArray(256 * 48)).reshape([256, 48]);
  const values = jit((x: JArray, z: JArray) => mm(x, z))(a, b).dataSync() as Float32Array;
  return { fma: hasRelaxedSimd(), values };
}
