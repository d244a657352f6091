import { beforeAll, describe, expect, it } from "vitest";
import { initJax, jit, np, tree, valueAndGrad, type JArray } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";
import { initLinear } from "../src/nn/init.js";
import { linear, ropeTables } from "../src/nn/layers.js";
import { initTransformerBlock, transformerBlock } from "../src/nn/transformer.js";
import { AdamW, initAdamState, learningRate } from "../src/nn/optim.js";
import type { Params } from "../src/nn/params.js";

beforeAll(initJax);

/**
 * Toy task: output frame t must equal input frame t-2 (zero for t < 2). Only
 * attention with positional information can solve it; a per-frame model
 * cannot do better than predicting zero (MSE = the input variance, 1.0).
 */
describe("tiny end-to-end training", () => {
  it("a 2-block transformer learns a 2-frame delay (loss < 0.15 from ~1.0)", () => {
    const D = 16, T = 12, B = 8, H = 2;
    const rng = new Rng(3);
    let params: Params = {
      inp: initLinear(rng, 4, D),
      blocks: [initTransformerBlock(rng, D, 32), initTransformerBlock(rng, D, 32)],
      out: initLinear(rng, D, 4),
    };
    const rope = ropeTables(T, D / H);
    const forward = (p: any, x: JArray) => {
      let h = linear(p.inp, x);
      for (const b of p.blocks) h = transformerBlock(b, h, { heads: H, norm: "pre", rope });
      return linear(p.out, h);
    };
    const loss = (p: any, x: JArray, y: JArray) => np.square(forward(p, x).sub(y)).mean();
    const step = jit(valueAndGrad(loss));
    const opt = new AdamW({ clipNorm: 1 });
    const state = initAdamState(params);
    const batch = () => {
      const x = rng.normalArray(B * T * 4);
      const y = new Float32Array(B * T * 4);
      for (let b = 0; b < B; b++) for (let t = 2; t < T; t++) for (let c = 0; c < 4; c++) y[(b * T + t) * 4 + c] = x[(b * T + t - 2) * 4 + c];
      return [np.array(x).reshape([B, T, 4]), np.array(y).reshape([B, T, 4])];
    };
    const losses: number[] = [];
    for (let i = 0; i < 300; i++) {
      const [x, y] = batch();
      const [l, g] = step(tree.ref(params), x, y);
      losses.push((l.dataSync() as Float32Array)[0]);
      params = opt.step(params, g as Params, state, learningRate({ kind: "cosine", lr: 3e-3, warmup: 20, steps: 300 }, i)).params;
    }
    const first = losses.slice(0, 10).reduce((a, b) => a + b) / 10;
    const last = losses.slice(-20).reduce((a, b) => a + b) / 20;
    expect(first).toBeGreaterThan(0.8);
    expect(last).toBeLessThan(0.15);
  });
});
