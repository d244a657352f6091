import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { initRefiner, REFINER_CONFIGS, refinerLoss, type RefinerParams } from "../src/model/refiner.js";
import { namedLeaves } from "../src/nn/params.js";
import { Rng } from "../src/nn/rng.js";
import { initJax, jit, np, tree, valueAndGrad, type JArray } from "../src/nn/runtime.js";
import { loadClips, type Clip } from "../src/train/data.js";
import { OnnxRefinerStep } from "../src/train/refiner-step.js";
import { createRefinerTask, REFINER_TRAIN } from "../src/train/refiner-task.js";
import { makeToyCorpus } from "./toy-corpus.js";

let train: Clip[];

beforeAll(async () => {
  await initJax();
  process.env.FLOWMAC_CACHE = mkdtempSync(join(tmpdir(), "flowmac-step-cache-")); // exported step graphs
  train = loadClips(makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-corpus-"))), "train");
});

const c = REFINER_CONFIGS["refiner-tiny"];
const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe("refiner training step on onnxruntime", () => {
  it("gives jax-js's loss, its parts and every gradient for the same weights and batch", async () => {
    const params = initRefiner(new Rng(5), c.generator) as RefinerParams;
    // A nonzero head, so that gradients reach the whole stack (a fresh refiner's head is zero).
    const rng = new Rng(6);
    const bins = c.generator.nFft / 2 + 1;
    params.head.w.dispose();
    params.head.w = np.array(rng.normalArray(bins * c.generator.dim).map((v) => 0.02 * v)).reshape([bins, c.generator.dim]);
    const [B, F] = [2, 8];
    const mel = rng.normalArray(B * F * 128).map((v) => v - 4);
    const prior = rng.normalArray(B * F * bins).map((v) => v - 3);
    const target = rng.normalArray(B * F * bins).map((v) => v - 3);
    const lossAndGrad = jit(valueAndGrad((p: any, m: JArray, pr: JArray, tg: JArray): any => refinerLoss(p, c, m, pr, tg), { hasAux: true }));
    const up = (a: Float32Array, shape: number[]) => np.array(a).reshape(shape);
    const [[loss, aux], grads] = lossAndGrad(tree.ref(params), up(mel, [B, F, 128]), up(prior, [B, F, bins]), up(target, [B, F, bins])) as any;
    const host = (a: JArray) => a.ref.dataSync() as Float32Array;
    const step = await OnnxRefinerStep.create(ort as any, c, params, { batch: B, frames: F });
    const out = await step.run(namedLeaves(params).map(([, a]) => host(a)), mel, prior, target);
    expect(relDiff(out.loss, host(loss)[0])).toBeLessThan(1e-5);
    expect(relDiff(out.l1, host(aux.l1)[0])).toBeLessThan(1e-5);
    expect(relDiff(out.sc, host(aux.sc)[0])).toBeLessThan(1e-5);
    const want = namedLeaves(grads).map(([, a]) => host(a));
    const peak = Math.max(...want.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    expect(peak).toBeGreaterThan(0);
    want.forEach((g, i) => {
      let err = 0;
      for (let j = 0; j < g.length; j++) err = Math.max(err, Math.abs(g[j] - out.grads[i][j]));
      expect(err / peak, namedLeaves(grads)[i][0]).toBeLessThan(1e-5);
    });
    step.dispose();
  });

  it("trains like the jax-js engine: the same losses (1e-4 relative) over a few steps, and the same validation after", async () => {
    const t = { ...REFINER_TRAIN["refiner-tiny"], steps: 6, warmup: 1 };
    const run = async (engine: "jax" | "onnx") => {
      const task = await createRefinerTask(c, t, train, train, 0, null, engine);
      expect(task.engine).toBe(engine);
      const rng = new Rng(3);
      const out: Record<string, number>[] = [];
      for (let s = 0; s < t.steps; s++) out.push(await task.step(s, rng));
      return { out, val: task.validate() };
    };
    const a = await run("jax");
    const b = await run("onnx");
    for (let s = 0; s < t.steps; s++) for (const k of ["loss", "l1", "sc", "gradNorm"]) expect(relDiff(b.out[s][k], a.out[s][k]), `step ${s} ${k}`).toBeLessThan(1e-4);
    // The weights moved (a fresh head is zero: the first steps change the loss), and validation reads the same weights.
    expect(a.out[t.steps - 1].loss).not.toBe(a.out[0].loss);
    for (const k of ["l1", "sc"]) expect(relDiff(b.val[k], a.val[k]), `val ${k}`).toBeLessThan(1e-4);
  });
});
