import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MelStatsAccumulator, type MelStats } from "../src/audio/stats.js";
import { codecLoss, initCodec, sampleCodecBatchHost, uploadCodecBatch } from "../src/model/codec.js";
import { CODEC_CONFIGS } from "../src/model/config.js";
import { emaCodebookUpdate } from "../src/model/rvq.js";
import { namedLeaves } from "../src/nn/params.js";
import { Rng } from "../src/nn/rng.js";
import { initJax, jit, np, tree, valueAndGrad, type JArray } from "../src/nn/runtime.js";
import { CODEC_TRAIN, createCodecTask } from "../src/train/codec-task.js";
import { clipMel, loadClips, type Clip } from "../src/train/data.js";
import { OnnxCodecStep } from "../src/train/onnx-step.js";
import { checkpointPath, runTraining } from "../src/train/runner.js";
import { parseSafeTensors } from "../src/util/safetensors.js";
import { maxAbsDiff, maxScaledDiff } from "./helpers.js";
import { makeToyCorpus } from "./toy-corpus.js";

let train: Clip[];
let stats: MelStats;

beforeAll(async () => {
  await initJax();
  process.env.FLOWMAC_CACHE = mkdtempSync(join(tmpdir(), "flowmac-step-cache-")); // exported step graphs
  const dir = makeToyCorpus(mkdtempSync(join(tmpdir(), "flowmac-corpus-")));
  train = loadClips(dir, "train");
  const acc = new MelStatsAccumulator(128);
  for (const c of train) acc.add(clipMel(c));
  stats = acc.result();
});

const c = CODEC_CONFIGS.tiny;
const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

describe("codec training step on onnxruntime", () => {
  it("gives jax-js's loss, gradients and EMA codebook update for the same weights and batch", async () => {
    const { params, buffers } = initCodec(new Rng(5), c);
    const rng = new Rng(6);
    const [B, T] = [2, 16];
    const batch = sampleCodecBatchHost(rng, c, rng.normalArray(B * T * 128), B, T);
    batch.stageMask.data.fill(0, c.rvq.stages * B - 1); // quantizer dropout on the last stage of one example
    const lossAndGrad = jit(valueAndGrad((p: any, b: any, x: any): any => codecLoss(p, b, c, x), { hasAux: true }));
    const [[loss, aux], grads] = lossAndGrad(tree.ref(params), tree.ref(buffers), uploadCodecBatch(batch)) as any;
    const host = (a: JArray) => a.ref.dataSync() as Float32Array;
    const step = await OnnxCodecStep.create(ort as any, c, params, buffers, batch);
    const out = await step.run(
      namedLeaves(params).map(([, a]) => host(a)),
      { codebooks: buffers.codebooks.map(host), emaSum: buffers.emaSum.map(host), emaCount: buffers.emaCount.map(host) },
      batch,
    );
    expect(relDiff(out.loss, host(loss)[0])).toBeLessThan(1e-5);
    for (const k of ["prior", "cfm", "commit"] as const) expect(relDiff(out[k], host(aux[k])[0]), k).toBeLessThan(1e-5);
    expect(Array.from(out.codes)).toEqual(Array.from(aux.codes.ref.dataSync() as Int32Array));
    // Gradients: each within 1e-5 of the largest gradient of the model.
    const want = namedLeaves(grads).map(([, a]) => host(a));
    const peak = Math.max(...want.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    want.forEach((g, i) => {
      let err = 0;
      for (let j = 0; j < g.length; j++) err = Math.max(err, Math.abs(g[j] - out.grads[i][j]));
      expect(err / peak, namedLeaves(grads)[i][0]).toBeLessThan(1e-5);
    });
    const S = c.rvq.stages;
    const N = B * T;
    const w = new Float32Array(S * N);
    for (let s = 0; s < S; s++) for (let b = 0; b < B; b++) w.fill(batch.stageMask.data[s * B + b], s * N + b * T, s * N + (b + 1) * T);
    const next = emaCodebookUpdate(tree.ref(buffers), aux.codes, aux.residuals, np.array(w).reshape([S, N]), np.array(new Float32Array([c.rvq.decay])).reshape([]));
    for (const f of ["codebooks", "emaSum", "emaCount"] as const) next[f].forEach((a, s) => expect(maxScaledDiff(out.buffers[f][s], host(a)), `${f}.${s}`).toBeLessThan(1e-5));
    step.dispose();
  });

  it("trains like the jax-js engine: the same losses (1e-4 relative) over a few steps", async () => {
    const t = { ...CODEC_TRAIN.tiny, steps: 5 };
    const losses = async (engine: "jax" | "onnx") => {
      const task = createCodecTask(c, t, train, train, stats, 0, { engine });
      const rng = new Rng(3);
      const out: Record<string, number>[] = [];
      for (let s = 0; s < t.steps; s++) out.push(await task.step(s, rng));
      return out;
    };
    const a = await losses("jax");
    const b = await losses("onnx");
    for (let s = 0; s < t.steps; s++) {
      for (const k of ["loss", "prior", "cfm", "commit", "gradNorm"]) expect(relDiff(b[s][k], a[s][k]), `step ${s} ${k}`).toBeLessThan(1e-4);
      expect(b[s].restarted, `step ${s} restarts`).toBe(a[s].restarted);
    }
  });

  it("prior-first (CFM weight 0): both engines agree, the CFM's weights stay as they were, the rest trains", async () => {
    const cp = { ...c, loss: { ...c.loss, cfm: 0 } };
    const t = { ...CODEC_TRAIN.tiny, steps: 4 };
    const run = async (engine: "jax" | "onnx") => {
      const task = createCodecTask(cp, t, train, train, stats, 0, { engine });
      const before = namedLeaves(task.params() as never).map(([n, a]) => [n, Float32Array.from((a as JArray).ref.dataSync() as Float32Array)] as const);
      const rng = new Rng(3);
      const out: Record<string, number>[] = [];
      for (let s = 0; s < t.steps; s++) out.push(await task.step(s, rng));
      const after = new Map(namedLeaves(task.params() as never).map(([n, a]) => [n, (a as JArray).ref.dataSync() as Float32Array]));
      return { out, before, after };
    };
    const a = await run("jax");
    const b = await run("onnx");
    for (let s = 0; s < t.steps; s++) {
      expect(a.out[s].cfm).toBe(0);
      for (const k of ["loss", "prior", "commit", "gradNorm"]) expect(relDiff(b.out[s][k], a.out[s][k]), `step ${s} ${k}`).toBeLessThan(1e-4);
    }
    for (const r of [a, b]) {
      let cfmMoved = 0, otherMoved = 0;
      for (const [n, w0] of r.before) {
        if (n.startsWith("cfm.")) cfmMoved = Math.max(cfmMoved, maxAbsDiff(r.after.get(n)!, w0));
        else otherMoved = Math.max(otherMoved, maxScaledDiff(r.after.get(n)!, w0));
      }
      expect(cfmMoved).toBe(0); // zero gradient, no weight decay: untouched
      expect(otherMoved).toBeGreaterThan(1e-4);
    }
  });

  it("the band-difference term: adds weight x mean |error differences between adjacent bands| to the loss, on both engines alike", async () => {
    const { params, buffers } = initCodec(new Rng(5), c);
    const rng = new Rng(6);
    const [B, T] = [2, 16];
    const batch = sampleCodecBatchHost(rng, c, rng.normalArray(B * T * 128), B, T);
    const cd = { ...c, loss: { ...c.loss, cfm: 0, bandDelta: 0.5 } };
    const c0 = { ...c, loss: { ...c.loss, cfm: 0 } };
    const lossOf = (cfg: typeof c) => {
      const [loss, aux] = codecLoss(tree.ref(params), tree.ref(buffers), cfg, uploadCodecBatch(batch)) as any;
      const v = (loss.dataSync() as Float32Array)[0];
      for (const a of Object.values(aux) as JArray[]) a.dispose();
      return v;
    };
    // The prior mel, to compute the term by hand: the loss with prior weight 1 and nothing else, minus its MSE part, is its MAE.
    const { bandDifferences, encoderLatent, decoderPrior } = await import("../src/model/codec.js");
    const { quantize } = await import("../src/model/rvq.js");
    const up = uploadCodecBatch(batch);
    const mu = decoderPrior(tree.ref(params), c, quantize(tree.ref(buffers), encoderLatent(tree.ref(params), c, up.mel.ref), up.stageMask).zq).dataSync() as Float32Array;
    const mel = up.mel.dataSync() as Float32Array;
    let sum = 0;
    for (let i = 0; i < B * T; i++) for (let m = 0; m + 1 < 128; m++) sum += Math.abs(mu[i * 128 + m + 1] - mel[i * 128 + m + 1] - (mu[i * 128 + m] - mel[i * 128 + m]));
    const byHand = sum / (B * T * 128); // the matrix's zero last column counts in the mean
    expect(relDiff(lossOf(cd) - lossOf(c0), 0.5 * byHand)).toBeLessThan(1e-3);
    const d = bandDifferences(4).dataSync() as Float32Array;
    expect(Array.from(d)).toEqual([-1, 0, 0, 0, 1, -1, 0, 0, 0, 1, -1, 0, 0, 0, 1, 0]);
    // Both engines train it alike.
    const t = { ...CODEC_TRAIN.tiny, steps: 3 };
    const losses = async (engine: "jax" | "onnx") => {
      const task = createCodecTask(cd, t, train, train, stats, 0, { engine });
      const r = new Rng(3);
      const out: number[] = [];
      for (let s = 0; s < t.steps; s++) out.push((await task.step(s, r)).loss);
      return out;
    };
    const [a, b] = [await losses("jax"), await losses("onnx")];
    a.forEach((x, s) => expect(relDiff(b[s], x), `step ${s}`).toBeLessThan(1e-4));
  });

  it("resumes bit for bit: 6 steps == 3 steps + resume + 3 steps", async () => {
    const t = { ...CODEC_TRAIN.tiny, steps: 6 };
    const run = (out: string, steps: number, resume?: string) =>
      runTraining(createCodecTask(c, t, train, train, stats, 0, { engine: "onnx" }), { out, steps, seed: 3, logEvery: 1, valEvery: 1000, ckptEvery: 1000, resume, quiet: true });
    const a = mkdtempSync(join(tmpdir(), "flowmac-onnx-a-"));
    const b = mkdtempSync(join(tmpdir(), "flowmac-onnx-b-"));
    await run(a, 6);
    await run(b, 3);
    await run(b, 6, checkpointPath(b));
    const tensors = (dir: string) => parseSafeTensors(new Uint8Array(readFileSync(checkpointPath(dir)))).tensors;
    const ta = tensors(a);
    const tb = tensors(b);
    expect([...tb.keys()]).toEqual([...ta.keys()]);
    for (const [name, x] of ta) expect(Buffer.compare(Buffer.from(x.data.buffer), Buffer.from(tb.get(name)!.data.buffer)), name).toBe(0);
    const log = readFileSync(join(a, "log.jsonl"), "utf8").split("\n")[0];
    expect(JSON.parse(log)).toMatchObject({ event: "start", engine: "onnx" });
  });
});
