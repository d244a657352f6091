import { beforeAll, describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { initJax, jit, np, tree, valueAndGrad } from "../src/nn/runtime.js";
import { jnn, lax } from "../src/nn/runtime.js";
import { exportOnnx } from "../src/onnx/export.js";
import { mergeDuplicateNodes } from "../src/onnx/cse.js";
import { gelu, groupNorm, layerNorm, mish } from "../src/nn/layers.js";
import { exportModelOnnx } from "../src/model/export-onnx.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { OnnxEngine } from "../src/model/onnx-engine.js";
import { decodeAudio, decodeMel, encodeAudio } from "../src/model/pipeline.js";
import { encodeStream } from "../src/model/encode-stream.js";
import type { InferenceEngine } from "../src/model/engine.js";
import { Rng } from "../src/nn/rng.js";
import { tinyModel, testSignal } from "./tiny-model.js";
import { relToPeak } from "./helpers.js";
import { enginePair } from "./tiny-model.js";
import { countOps, onnxOps } from "./onnx-ops.js";

beforeAll(initJax);

const rel = relToPeak;

async function runOnnx(bytes: Uint8Array, feeds: Record<string, { data: Float32Array | Int32Array; dims: number[] }>) {
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const t: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) t[k] = new ort.Tensor(v.data instanceof Int32Array ? "int32" : "float32", v.data, v.dims);
  return s.run(t);
}

describe("jaxpr -> ONNX exporter", () => {
  it("translates element-wise ops, reductions, matmuls, gathers, pads, slices, concatenation and comparisons", async () => {
    const rng = new Rng(1);
    const x = np.array(rng.normalArray(2 * 5 * 4)).reshape([2, 5, 4]);
    const w = np.array(rng.normalArray(4 * 3)).reshape([4, 3]);
    const table = np.array(rng.normalArray(6 * 3)).reshape([6, 3]);
    const ids = np.array([5, 0, 2], { dtype: np.int32 });
    const f = (x: any, w: any, t: any, i: any) => {
      const y = np.matmul(x.ref, w); // [2,5,3]
      const g = np.take(t, i, 0); // [3,3]
      const p = np.pad(y.ref, [[0, 0], [1, 2], [0, 0]]).slice([], [1, 6], []);
      const e = jnn.softmax(np.exp(p.mul(0.1)).add(np.sqrt(np.abs(x.ref.sum(-1, { keepdims: true })).add(1))), -1);
      const c = np.concatenate([e, np.where(y.greater(0), 1, -1).astype(np.float32)], 2);
      return [c.max(1), np.tanh(g).sum(), np.argmin(x, 2)];
    };
    const ref = f(x.ref, w.ref, table.ref, ids.ref).map((a: any) => a.dataSync());
    const bytes = exportOnnx("t", f, [
      { name: "x", value: x, kind: "input" },
      { name: "w", value: w, kind: "weight" },
      { name: "t", value: table, kind: "weight" },
      { name: "i", value: ids, kind: "input" },
    ], ["a", "b", "c"]);
    const out = await runOnnx(bytes, { x: { data: x.ref.dataSync() as Float32Array, dims: [2, 5, 4] }, i: { data: Int32Array.from([5, 0, 2]), dims: [3] } });
    expect(rel(out.a.data as Float32Array, ref[0])).toBeLessThan(1e-5);
    expect(rel(out.b.data as Float32Array, ref[1])).toBeLessThan(1e-5);
    expect(Array.from(out.c.data as Int32Array)).toEqual(Array.from(ref[2]));
  });
});

describe("softmax and layer-norm fusion", () => {
  const opsOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
  const x = () => np.array(new Rng(4).normalArray(3 * 6 * 8)).reshape([3, 6, 8]);
  const gamma = np.array(new Rng(5).normalArray(8));
  const beta = np.array(new Rng(6).normalArray(8));

  it("exports jax-js softmax and layer norm as ONNX Softmax and LayerNormalization, same values", async () => {
    const f = (x: any, g: any, b: any) => [jnn.softmax(x.ref.mul(2), -1), layerNorm({ g: g.ref, b: b.ref }, x.ref), groupNorm({ g, b }, x, 2, 1e-5, true)];
    const ref = f(x(), gamma.ref, beta.ref).map((a: any) => a.dataSync());
    const bytes = exportOnnx("t", f, [{ name: "x", value: x(), kind: "input" }, { name: "g", value: gamma.ref, kind: "weight" }, { name: "b", value: beta.ref, kind: "weight" }], ["s", "l", "n"]);
    expect(opsOf(bytes)).toContain("Softmax");
    expect(opsOf(bytes)).toContain("LayerNormalization");
    expect(opsOf(bytes)).not.toContain("Reciprocal"); // every chain was fused
    const out = await runOnnx(bytes, { x: { data: x().dataSync() as Float32Array, dims: [3, 6, 8] } });
    for (const [k, r] of [["s", ref[0]], ["l", ref[1]], ["n", ref[2]]] as const) expect(rel(out[k].data as Float32Array, r)).toBeLessThan(1e-5);
  });

  it("leaves a chain alone when one of its intermediate values is used elsewhere", async () => {
    // A hand-written layer norm that also returns the centred signal.
    const f = (x: any) => {
      const h = x.ref.sub(x.mean(-1, { keepdims: true }));
      const r = np.reciprocal(np.sqrt(np.square(h.ref).mean(-1, { keepdims: true }).add(1e-5)));
      return [h.ref.mul(r), h];
    };
    const ref = f(x()).map((a: any) => a.dataSync());
    const bytes = exportOnnx("t", f, [{ name: "x", value: x(), kind: "input" }], ["y", "h"]);
    expect(opsOf(bytes)).not.toContain("LayerNormalization");
    const out = await runOnnx(bytes, { x: { data: x().dataSync() as Float32Array, dims: [3, 6, 8] } });
    expect(rel(out.y.data as Float32Array, ref[0])).toBeLessThan(1e-5);
    expect(rel(out.h.data as Float32Array, ref[1])).toBeLessThan(1e-5);
  });
});

describe("GELU fusion", () => {
  const opsOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");
  const x = () => np.array(new Rng(7).normalArray(4 * 16, 2)).reshape([4, 16]);

  it("exports the exact GELU as one ONNX Gelu, same values", async () => {
    const ref = gelu(x()).dataSync() as Float32Array;
    const bytes = exportOnnx("t", (v: any) => gelu(v), [{ name: "x", value: x(), kind: "input" }], ["y"]);
    expect(opsOf(bytes)).toContain("Gelu");
    expect(opsOf(bytes)).not.toContain("Erf");
    const out = await runOnnx(bytes, { x: { data: x().dataSync() as Float32Array, dims: [4, 16] } });
    expect(rel(out.y.data as Float32Array, ref)).toBeLessThan(1e-6);
  });

  it("leaves the chain alone when erf's value is also used elsewhere", async () => {
    const f = (v: any) => {
      const e = lax.erf(v.ref.mul(Math.SQRT1_2));
      return [v.mul(0.5).mul(e.ref.add(1)), e];
    };
    const ref = f(x()).map((a: any) => a.dataSync());
    const bytes = exportOnnx("t", f, [{ name: "x", value: x(), kind: "input" }], ["y", "e"]);
    expect(opsOf(bytes)).not.toContain("Gelu");
    const out = await runOnnx(bytes, { x: { data: x().dataSync() as Float32Array, dims: [4, 16] } });
    expect(rel(out.y.data as Float32Array, ref[0])).toBeLessThan(1e-6);
  });
});

describe("tanh", () => {
  it("exports jax-js tanh (a nested jit) as one ONNX Tanh, same values, and mish through it", async () => {
    const x = np.array(new Rng(9).normalArray(64, 3)).reshape([4, 16]);
    const f = (v: any) => [np.tanh(v.ref), mish(v)];
    const ref = f(x.ref).map((a: any) => a.dataSync() as Float32Array);
    const bytes = exportOnnx("t", f, [{ name: "x", value: x.ref, kind: "input" }], ["t", "m"]);
    expect(Buffer.from(bytes).toString("latin1")).toContain("Tanh");
    const out = await runOnnx(bytes, { x: { data: x.dataSync() as Float32Array, dims: [4, 16] } });
    expect(rel(out.t.data as Float32Array, ref[0])).toBeLessThan(1e-6);
    expect(rel(out.m.data as Float32Array, ref[1])).toBeLessThan(1e-6);
  });
});

describe("argmin and subtraction fusion", () => {
  const opsOf = (bytes: Uint8Array) => Buffer.from(bytes).toString("latin1");

  it("exports jax-js argmin as ONNX ArgMin (first index on ties) and a - b as Sub, same values", async () => {
    // Rows with repeated minima check the tie rule; the codebook search is the real user.
    const x = Float32Array.from([3, 1, 1, 2, 0, 5, 0, 0, 7, 7, 7, 7, -1, 4, -1, 9]);
    const f = (v: any, w: any) => [np.argmin(v.ref, 1), v.sub(w)];
    const args = () => [{ name: "x", value: np.array(x).reshape([4, 4]), kind: "input" as const }, { name: "w", value: np.array(new Float32Array(16).fill(0.5)).reshape([4, 4]), kind: "input" as const }];
    const ref = f(...args().map((a) => a.value)).map((a: any) => Array.from(a.dataSync() as ArrayLike<number>));
    expect(ref[0]).toEqual([1, 0, 0, 0]);
    const bytes = exportOnnx("t", f, args(), ["i", "d"]);
    expect(opsOf(bytes)).toContain("ArgMin");
    expect(opsOf(bytes)).toContain("Sub");
    expect(opsOf(bytes)).not.toContain("Equal");
    expect(opsOf(bytes)).not.toContain("Neg");
    const out = await runOnnx(bytes, { x: { data: x, dims: [4, 4] }, w: { data: new Float32Array(16).fill(0.5), dims: [4, 4] } });
    expect(Array.from(out.i.data as Int32Array)).toEqual(ref[0]);
    expect(Array.from(out.d.data as Float32Array)).toEqual(ref[1]);
  });
});

describe("ONNX engine parity with the jax-js engine (tiny model)", () => {
  it("same codes from the same audio; decoded mels and audio within 1e-4 relative", async () => {
    const m = tinyModel(3);
    const { jax: jaxE, onnx: onnxE } = await enginePair(m);
    const audio = testSignal(6.5);
    const a = await encodeAudio(jaxE, audio);
    const b = await encodeAudio(onnxE, audio);
    expect(b.codes).toEqual(a.codes);
    const o = { steps: 3, guidance: 1, temperature: 1, seed: 1 };
    expect(rel(await decodeMel(onnxE, a.codes, a.frames, a.stages, o), await decodeMel(jaxE, a.codes, a.frames, a.stages, o))).toBeLessThan(1e-4);
    expect(rel(await decodeAudio(onnxE, a.codes, a.frames, a.stages, audio.length, o), await decodeAudio(jaxE, a.codes, a.frames, a.stages, audio.length, o))).toBeLessThan(1e-4);
  });
});

describe("the RVQ search's high-band weight (tiny-lin model: a linear path gives the metric)", () => {
  it("both engines pick the same codes at each weight; a weight below 1 picks others than the plain search; a bundle keeps the metric", async () => {
    const m = tinyModel(4, "vocos-tiny", "tiny-lin");
    const { jax: jaxE, onnx: onnxE } = await enginePair(m);
    const audio = testSignal(3);
    const codesAt = async (e: InferenceEngine, highBandWeight: number) => (await encodeStream(e, audio, { stages: 3, allocate: false, highBandWeight })).codes;
    const plain = await codesAt(jaxE, 1);
    const weighted = await codesAt(jaxE, 0.1);
    expect(await codesAt(onnxE, 1)).toEqual(plain);
    expect(await codesAt(onnxE, 0.1)).toEqual(weighted);
    expect(weighted).not.toEqual(plain);
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { readBundle, writeBundle } = await import("../src/model/open.js");
    const dir = mkdtempSync(join(tmpdir(), "flowmac-bundle-"));
    const bundle = exportModelOnnx(m);
    expect(bundle.metric.length).toBe(2 * 8 * 8);
    writeBundle(bundle, dir);
    expect(readBundle(dir, m.info)!.metric).toEqual(bundle.metric);
  });
});

describe("ONNX export cache", () => {
  it("two models that share a codec but not a vocoder get separate cached exports", async () => {
    const { mkdtempSync, copyFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { writeTinyModelDir } = await import("./tiny-model.js");
    const { openEngine } = await import("../src/model/open.js");
    const root = mkdtempSync(join(tmpdir(), "flowmac-cache-"));
    process.env.FLOWMAC_CACHE = join(root, "cache");
    try {
      const a = await writeTinyModelDir(join(root, "a"), 1);
      const b = await writeTinyModelDir(join(root, "b"), 2);
      copyFileSync(join(a, "codec.safetensors"), join(b, "codec.safetensors")); // same codec, other vocoder
      const mel = new Float32Array(320 * 128).map((_, i) => Math.sin(i / 50) - 5);
      const outs: Float32Array[] = [];
      for (const dir of [a, b, a]) {
        const e = await openEngine(dir, "onnx");
        outs.push(await e.vocode(mel, 320));
        e.dispose();
      }
      expect(rel(outs[0], outs[1])).toBeGreaterThan(1e-3); // b's vocoder, not a's cached export
      expect(outs[2]).toEqual(outs[0]); // a again, from its own cache
    } finally {
      delete process.env.FLOWMAC_CACHE;
    }
  });
});

describe("dots of broadcast operands", () => {
  const rng = new Rng(11);
  const data = (n: number) => Float32Array.from(rng.normalArray(n));
  const feed = (name: string, d: Float32Array, dims: number[]) => ({ name, value: np.array(d).reshape(dims), kind: "input" as const });

  it("a dot that reads a broadcast operand is a MatMul of the operand before the broadcast (no Expand), same values", async () => {
    // out[i, j] = a[i, :] . b[j, :], written as jax-js's backward passes write it: a repeated along j.
    const f = (a: any, b: any) => np.vecdot(np.broadcastTo(a.reshape([3, 1, 10]), [3, 4, 10]), b.reshape([1, 4, 10]));
    const a = data(30);
    const b = data(40);
    const ref = f(np.array(a).reshape([3, 10]), np.array(b).reshape([4, 10])).dataSync() as Float32Array;
    const bytes = exportOnnx("t", f, [feed("a", a, [3, 10]), feed("b", b, [4, 10])], ["y"]);
    expect(countOps(bytes, "MatMul")).toBe(1);
    expect(onnxOps(bytes)).not.toContain("Expand");
    expect(onnxOps(bytes)).not.toContain("ReduceSum");
    const out = await runOnnx(bytes, { a: { data: a, dims: [3, 10] }, b: { data: b, dims: [4, 10] } });
    expect(rel(out.y.data as Float32Array, ref)).toBeLessThan(1e-6);
  });

  it("the gradients of batched matmuls export as MatMuls only, same values", async () => {
    // Attention-shaped: a batch axis both operands vary along, and the weight shared across another.
    const loss = (w: any, x: any, y: any) => np.square(np.matmul(np.matmul(x, w), y)).sum();
    const vg = valueAndGrad(loss, { argnums: [0, 1, 2] });
    const shapes = { w: [4, 3], x: [2, 5, 5, 4], y: [2, 5, 3, 6] };
    const d = { w: data(12), x: data(200), y: data(180) };
    const args = () => (["w", "x", "y"] as const).map((k) => feed(k, d[k], shapes[k]));
    const [value, grads] = vg(...args().map((a) => a.value)) as any;
    const bytes = exportOnnx("t", vg, args(), ["v", "gw", "gx", "gy"]);
    expect(countOps(bytes, "MatMul")).toBe(6); // two forward, two per product backward
    expect(countOps(bytes, "ReduceSum")).toBe(1); // the loss's sum
    const out = await runOnnx(bytes, Object.fromEntries((["w", "x", "y"] as const).map((k) => [k, { data: d[k], dims: shapes[k] }])));
    expect(rel(out.v.data as Float32Array, value.dataSync() as Float32Array)).toBeLessThan(1e-5);
    (["gw", "gx", "gy"] as const).forEach((k, i) => expect(rel(out[k].data as Float32Array, grads[i].dataSync() as Float32Array), k).toBeLessThan(1e-5));
  });
});

describe("dead-node removal", () => {
  it("drops nodes whose values no output reads (here an unused output of a nested jit)", async () => {
    const inner = jit((v: any) => [np.exp(v.ref), v.mul(3)]);
    const f = (x: any) => {
      const [unused, y] = inner(x) as any;
      unused.dispose();
      return y;
    };
    const x = Float32Array.from([1, 2, 3]);
    const bytes = exportOnnx("t", f, [{ name: "x", value: np.array(x), kind: "input" }], ["y"]);
    expect(onnxOps(bytes)).not.toContain("Exp");
    expect(onnxOps(bytes)).toContain("Mul");
    const out = await runOnnx(bytes, { x: { data: x, dims: [3] } });
    expect(Array.from(out.y.data as Float32Array)).toEqual([3, 6, 9]);
  });
});

describe("common subexpressions and repeated operands", () => {
  it("merges nodes that compute the same thing (commutative operands in either order), keeping graph outputs", () => {
    const nodes = [
      { op: "Mul", inputs: ["a", "b"], outputs: ["p"] },
      { op: "Mul", inputs: ["b", "a"], outputs: ["q"] },
      { op: "Add", inputs: ["p", "q"], outputs: ["s"] },
      { op: "Sub", inputs: ["q", "a"], outputs: ["d1"] },
      { op: "Sub", inputs: ["a", "q"], outputs: ["d2"] }, // not commutative: kept
      { op: "Identity", inputs: ["s"], outputs: ["out1"] },
      { op: "Identity", inputs: ["s"], outputs: ["out2"] }, // a graph output: kept
    ];
    const merged = mergeDuplicateNodes(nodes, ["out1", "out2"]);
    expect(merged.map((n) => n.outputs[0])).toEqual(["p", "s", "d1", "d2", "out1", "out2"]);
    expect(merged[1].inputs).toEqual(["p", "p"]);
    expect(merged[2].inputs).toEqual(["p", "a"]);
  });

  it("an element-wise op reads a broadcast operand before the broadcast (ONNX broadcasts it), same values", async () => {
    const f = (x: any, s: any) => np.square(x.sub(s.reshape([2, 3, 1]))).sum();
    const vg = valueAndGrad(f, { argnums: [0, 1] });
    const x = Float32Array.from(new Rng(12).normalArray(24));
    const s = Float32Array.from(new Rng(13).normalArray(6));
    const args = () => [{ name: "x", value: np.array(x).reshape([2, 3, 4]), kind: "input" as const }, { name: "s", value: np.array(s).reshape([2, 3]), kind: "input" as const }];
    const [v, [gx, gs]] = vg(...(args().map((a) => a.value) as [any, any])) as any;
    const bytes = exportOnnx("t", vg, args(), ["v", "gx", "gs"]);
    expect(onnxOps(bytes)).not.toContain("Expand");
    const out = await runOnnx(bytes, { x: { data: x, dims: [2, 3, 4] }, s: { data: s, dims: [2, 3] } });
    expect(rel(out.v.data as Float32Array, v.dataSync() as Float32Array)).toBeLessThan(1e-6);
    expect(rel(out.gx.data as Float32Array, gx.dataSync() as Float32Array)).toBeLessThan(1e-6);
    expect(rel(out.gs.data as Float32Array, gs.dataSync() as Float32Array)).toBeLessThan(1e-6);
  });
});
