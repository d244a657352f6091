import { beforeAll, describe, expect, it } from "vitest";
import { initJax, np } from "../src/nn/runtime.js";
import { AdamW, initAdamState, type AdamConfig } from "../src/nn/optim.js";
import { namedLeaves, type Params } from "../src/nn/params.js";
import { Rng } from "../src/nn/rng.js";

beforeAll(initJax);

/** The textbook AdamW step in plain JavaScript (float64 arithmetic, float32 storage): the reference. */
function referenceStep(g: Float32Array[], w: Float32Array[], m: Float32Array[], v: Float32Array[], step: number, lr: number, c: AdamConfig): number {
  let sq = 0;
  for (const gi of g) for (let j = 0; j < gi.length; j++) sq += gi[j] * gi[j];
  const gradNorm = Math.sqrt(sq);
  const scale = c.clipNorm > 0 && gradNorm > c.clipNorm ? c.clipNorm / (gradNorm + 1e-6) : 1;
  const bc1 = 1 - c.beta1 ** step;
  const bc2 = 1 - c.beta2 ** step;
  for (let i = 0; i < g.length; i++)
    for (let j = 0; j < g[i].length; j++) {
      const gj = g[i][j] * scale;
      const mj = (m[i][j] = c.beta1 * m[i][j] + (1 - c.beta1) * gj);
      const vj = (v[i][j] = c.beta2 * v[i][j] + (1 - c.beta2) * gj * gj);
      w[i][j] -= (lr / bc1) * (mj / (Math.sqrt(vj / bc2) + c.eps)) + lr * c.weightDecay * w[i][j];
    }
  return gradNorm;
}

const bits = (a: Float32Array[]) => a.flatMap((x) => [...new Int32Array(x.buffer, x.byteOffset, x.length)]);

describe("AdamW", () => {
  it("matches the plain JavaScript update bit for bit (odd sizes, clipping, weight decay, a replaced state)", () => {
    const rng = new Rng(5);
    const shapes = [[3, 5], [7], [4, 4], [1], [2, 3, 3]];
    const config: AdamConfig = { beta1: 0.8, beta2: 0.99, eps: 1e-8, weightDecay: 0.01, clipNorm: 2 };
    let params: Params = { p: shapes.map((s) => np.array(rng.normalArray(s.reduce((a, b) => a * b, 1))).reshape(s)) };
    const state = initAdamState(params);
    const ref = { w: state.w.map((a) => a.slice()), m: state.m.map((a) => a.slice()), v: state.v.map((a) => a.slice()) };
    const opt = new AdamW(config);
    for (let step = 1; step <= 6; step++) {
      // Gradients of growing size, so that clipping is off at first and on later.
      const g = shapes.map((s) => Float32Array.from(rng.normalArray(s.reduce((a, b) => a * b, 1)), (x) => x * step * 0.2));
      const grads: Params = { p: g.map((a, i) => np.array(a).reshape(shapes[i])) };
      const want = referenceStep(g, ref.w, ref.m, ref.v, step, 1e-2, config);
      const got = opt.step(params, grads, state, 1e-2);
      params = got.params;
      expect(got.gradNorm).toBe(want);
      expect(bits(state.w)).toEqual(bits(ref.w));
      expect(bits(state.m)).toEqual(bits(ref.m));
      expect(bits(state.v)).toEqual(bits(ref.v));
      const uploaded = namedLeaves(params).map(([, a]) => a.ref.dataSync() as Float32Array);
      expect(bits(uploaded)).toEqual(bits(ref.w));
      // A resumed run replaces the state's arrays (here with other values): the optimiser must use the new ones.
      if (step === 3) {
        for (const key of ["w", "m", "v"] as const) {
          ref[key] = ref[key].map((a) => a.map((x) => x * 1.5));
          state[key] = ref[key].map((a) => a.slice());
        }
      }
    }
  });
});
