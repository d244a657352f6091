import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MelStats } from "../src/audio/stats.js";
import { framesFor, writeFmac } from "../src/bitstream/fmac.js";
import { codecFromSpec } from "../src/eval/codecs.js";
import { JaxEngine } from "../src/model/jax-engine.js";
import { initJax } from "../src/nn/runtime.js";
import { kmeans } from "../src/model/kmeans.js";
import { decodeLinear, encodeLinear, fitLinearCodec, parseLinearCodec, serializeLinearCodec, type LinearCodec } from "../src/model/linear-codec.js";
import { fitPca, symmetricEigen } from "../src/model/pca.js";
import { Rng } from "../src/nn/rng.js";
import { memoryClip } from "../src/train/data.js";
import type { ManifestEntry } from "../src/corpus/build.js";
import { sampleNormalisedFrames } from "../src/train/linear-frames.js";
import { serializeSafeTensors } from "../src/util/safetensors.js";
import { testSignal, tinyModel } from "./tiny-model.js";
import { makeToyCorpus } from "./toy-corpus.js";

/** Orthonormal rows [k, dim] by Gram-Schmidt on Gaussian draws. */
function orthonormalRows(rng: Rng, k: number, dim: number): Float64Array {
  const q = new Float64Array(k * dim);
  for (let r = 0; r < k; r++) {
    const v = Float64Array.from({ length: dim }, () => rng.normal());
    for (let p = 0; p < r; p++) {
      let dot = 0;
      for (let e = 0; e < dim; e++) dot += v[e] * q[p * dim + e];
      for (let e = 0; e < dim; e++) v[e] -= dot * q[p * dim + e];
    }
    const norm = Math.hypot(...v);
    for (let e = 0; e < dim; e++) q[r * dim + e] = v[e] / norm;
  }
  return q;
}

/** Rows mean + sum_r z_r sd_r basis_r + noise: a planted low-rank subspace. */
function plantedData(rng: Rng, n: number, basis: Float64Array, sds: number[], dim: number, noise: number, mean: number[]): Float32Array {
  const x = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const z = sds.map((s) => s * rng.normal());
    for (let e = 0; e < dim; e++) {
      let v = mean[e] + noise * rng.normal();
      z.forEach((zr, r) => (v += zr * basis[r * dim + e]));
      x[i * dim + e] = v;
    }
  }
  return x;
}

const BANDS = 128;
const STATS: MelStats = { bands: BANDS, frames: 1000, mean: Array.from({ length: BANDS }, (_, m) => -6 + m / 100), std: Array.from({ length: BANDS }, (_, m) => 2 + m / 300) }; // not float32-exact: the file must keep float64

/** Mel-like frames: 12 smooth spectral shapes with decaying weights, plus noise. */
function melLikeFrames(seed: number, n: number): Float32Array {
  const rng = new Rng(999); // the same shapes for every seed
  const basis = orthonormalRows(rng, 12, BANDS);
  const data = new Rng(seed);
  return plantedData(data, n, basis, Array.from({ length: 12 }, (_, r) => 6 / (r + 1)), BANDS, 0.05, Array(BANDS).fill(0));
}

function mse(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

const SMALL = { stats: STATS, dim: 8, stages: 8, codebookSize: 16, seed: 3, iterations: 10 };

describe("symmetric eigen-solver and PCA", () => {
  it("diagonalises a known symmetric matrix", () => {
    const n = 12;
    const q = orthonormalRows(new Rng(1), n, n);
    const lambda = Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1) * (i + 1) * 0.7);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let r = 0; r < n; r++) a[i * n + j] += q[r * n + i] * lambda[r] * q[r * n + j];
    const eig = symmetricEigen(a, n);
    expect(Array.from(eig.values)).toEqual([...lambda].sort((x, y) => y - x).map((v) => expect.closeTo(v, 10)));
    for (let r = 0; r < n; r++)
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let j = 0; j < n; j++) av += a[i * n + j] * eig.vectors[r * n + j];
        expect(av).toBeCloseTo(eig.values[r] * eig.vectors[r * n + i], 10);
      }
  });

  it("recovers a planted low-rank subspace, its variances and its mean", () => {
    const dim = 32;
    const rng = new Rng(7);
    const basis = orthonormalRows(rng, 3, dim);
    const mean = Array.from({ length: dim }, (_, e) => Math.sin(e));
    const x = plantedData(rng, 4000, basis, [5, 3, 2], dim, 0.02, mean);
    const pca = fitPca(x, 4000, dim, 3);
    for (let r = 0; r < 3; r++) {
      // Each recovered direction lies in the planted subspace (its projection there has norm ~1)...
      let inSpan = 0;
      for (let p = 0; p < 3; p++) {
        let dot = 0;
        for (let e = 0; e < dim; e++) dot += pca.components[r * dim + e] * basis[p * dim + e];
        inSpan += dot * dot;
      }
      expect(inSpan).toBeGreaterThan(0.9999);
      // ... and, the variances being distinct, is the planted direction of the same rank.
      let dot = 0;
      for (let e = 0; e < dim; e++) dot += pca.components[r * dim + e] * basis[r * dim + e];
      expect(Math.abs(dot)).toBeGreaterThan(0.99);
    }
    expect(pca.variances[0]).toBeGreaterThan(pca.variances[1]);
    [25, 9, 4].forEach((v, r) => expect(pca.variances[r] / v).toBeGreaterThan(0.9));
    [25, 9, 4].forEach((v, r) => expect(pca.variances[r] / v).toBeLessThan(1.1));
    expect(pca.variances[3]).toBeLessThan(0.001);
    for (let e = 0; e < dim; e++) expect(pca.mean[e]).toBeCloseTo(mean[e], 1);
  });
});

describe("k-means", () => {
  it("finds well-separated clusters", () => {
    const dim = 4;
    const centres = [
      [0, 0, 0, 0],
      [10, 0, 0, 0],
      [0, 10, 0, 5],
      [-8, -8, 3, 0],
      [4, 4, 12, -6],
    ];
    const rng = new Rng(11);
    const n = 1000;
    const pts = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) for (let e = 0; e < dim; e++) pts[i * dim + e] = centres[i % centres.length][e] + 0.3 * rng.normal();
    const km = kmeans(pts, n, dim, centres.length, new Rng(5), 50);
    // Lloyd's fixed point with the clusters separated: each centroid is the exact mean of one true cluster.
    const means = centres.map((_, c) => Array.from({ length: dim }, (_, e) => {
      let s = 0;
      for (let i = c; i < n; i += centres.length) s += pts[i * dim + e];
      return s / (n / centres.length);
    }));
    const found = Array.from({ length: centres.length }, (_, j) => Array.from(km.centroids.subarray(j * dim, (j + 1) * dim)));
    const matched = means.map((m) => found.findIndex((f) => Math.hypot(...f.map((v, e) => v - m[e])) < 1e-4));
    expect(matched.every((j) => j >= 0)).toBe(true);
    expect(new Set(matched).size).toBe(centres.length); // one found centroid per true cluster
    expect(km.meanSquaredError).toBeLessThan(dim * 0.3 ** 2 * 1.2);
  });
});

describe("linear codec", () => {
  const train = melLikeFrames(1, 3000);
  const held = melLikeFrames(2, 500);
  const codec = fitLinearCodec(train, 3000, SMALL);

  it("is deterministic: same seed, same codebooks; same input, same codes", () => {
    const again = fitLinearCodec(train, 3000, SMALL);
    expect(again.codebooks).toEqual(codec.codebooks);
    expect(again.components).toEqual(codec.components);
    expect(fitLinearCodec(train, 3000, { ...SMALL, seed: 4 }).codebooks).not.toEqual(codec.codebooks);
    expect(encodeLinear(codec, held, 500, 8)).toEqual(encodeLinear(codec, held, 500, 8));
  });

  it("gets better with every stage on held-out frames, and fewer stages are a prefix of more", () => {
    const errors = [1, 2, 3, 4, 5, 6, 7, 8].map((s) => mse(held, decodeLinear(codec, encodeLinear(codec, held, 500, s), 500, s)));
    for (let i = 1; i < errors.length; i++) expect(errors[i]).toBeLessThan(errors[i - 1]);
    expect(errors[7]).toBeLessThan(0.8 * errors[3]); // 8 stages clearly beat 4
    const c8 = encodeLinear(codec, held, 500, 8);
    const c4 = encodeLinear(codec, held, 500, 4);
    for (let t = 0; t < 500; t++) expect(Array.from(c8.subarray(t * 8, t * 8 + 4))).toEqual(Array.from(c4.subarray(t * 4, t * 4 + 4)));
  });

  it("saves and loads exactly, with its mel statistics", () => {
    const loaded = parseLinearCodec(serializeLinearCodec(codec), "codec.safetensors");
    expect(loaded).toEqual(codec);
    expect(decodeLinear(loaded, encodeLinear(loaded, held, 500, 8), 500, 8)).toEqual(decodeLinear(codec, encodeLinear(codec, held, 500, 8), 500, 8));
  });

  it("refuses files that are not a linear codec, and bad shapes", () => {
    const other = serializeSafeTensors([["w", { shape: [2], data: new Float32Array(2) }]], { format: "flowmac-checkpoint" });
    expect(() => parseLinearCodec(other, "other.safetensors")).toThrow(/other\.safetensors: not a linear codec file/);
    expect(() => fitLinearCodec(train, 3000, { ...SMALL, codebookSize: 12 })).toThrow(/power of two/);
    expect(() => fitLinearCodec(train, 10, SMALL)).toThrow(/at least 16 frames/);
    expect(() => encodeLinear(codec, held, 500, 9)).toThrow(/1 to 8 stages/);
  });
});

describe("training frames for the fit", () => {
  it("are normalised and evenly spaced over all clips when capped", () => {
    const clip = (frames: number, first: number) =>
      memoryClip({ id: `c${first}` } as ManifestEntry, new Float32Array(frames * 512), { frames, bands: BANDS, data: Float32Array.from({ length: frames * BANDS }, (_, i) => first + Math.floor(i / BANDS)) });
    const unit: MelStats = { bands: BANDS, frames: 1, mean: Array(BANDS).fill(1), std: Array(BANDS).fill(2) };
    const clips = [clip(5, 0), clip(3, 5), clip(4, 8)]; // frame g holds the value g
    const all = sampleNormalisedFrames(clips, unit, 100);
    expect([all.n, all.total]).toEqual([12, 12]);
    const capped = sampleNormalisedFrames(clips, unit, 5);
    expect(capped.n).toBe(5);
    const picked = Array.from({ length: 5 }, (_, i) => capped.frames[i * BANDS] * 2 + 1); // undo (v - 1) / 2
    expect(picked).toEqual([0, 2, 4, 7, 9]); // floor(i * 12 / 5)
  });
});

describe("eval rows linear@<kbps>", () => {
  const dir = mkdtempSync(join(tmpdir(), "flowmac-linear-eval-"));
  const file = join(dir, "lin.safetensors");
  // 4 stages of 256 entries: 8 bits per stage, so linear@1.5 is all 4 stages.
  writeFileSync(file, serializeLinearCodec(fitLinearCodec(melLikeFrames(1, 600), 600, { ...SMALL, dim: 4, stages: 4, codebookSize: 256, iterations: 2 })));
  const engine = async () => {
    await initJax();
    const m = tinyModel(1);
    return new JaxEngine(m.info, m.codec, m.buffers, m.generator);
  };

  it("code at 8 bits per stage, count bytes as the .fmac of their codes would, and decode through the vocoder", async () => {
    const c = await codecFromSpec("linear@1.5", engine, file);
    expect(c.name).toBe("linear@1.5");
    const audio = testSignal(1);
    const run = await c.run(audio);
    const frames = framesFor(audio.length);
    const fmac = writeFmac({ modelId: "0123456789abcdef", sampleRate: 24000, stages: 4, bitsPerIndex: 8, length: audio.length, frames, codes: new Uint16Array(frames * 4) });
    expect(run.bytes).toBe(fmac.length);
    expect((run.bytes - 40) * 8 / (audio.length / 24000)).toBeCloseTo(1504, -1); // 1.5 kbit/s plus the last frame's rounding
    expect(run.audio.length).toBe(audio.length);
    expect(run.audio.every(Number.isFinite)).toBe(true);
  });

  it("refuse a rate the file cannot reach, and a missing --linear", async () => {
    await expect(codecFromSpec("linear@3", engine, file)).rejects.toThrow(/linear@3: .* up to 4 stages/);
    expect(() => codecFromSpec("linear@3", engine)).toThrow(/linear@3 needs --linear/);
    expect(() => codecFromSpec("linear@3", engine, join(dir, "nope.safetensors"))).toThrow(/nope\.safetensors: no such file/);
  });
});

describe("flowmac fit-linear", () => {
  const BIN = fileURLToPath(new URL("../bin/flowmac.js", import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), "flowmac-linear-"));
  const flowmac = (...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, FLOWMAC_QUIET: "1" } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it("refuses a missing or non-corpus directory with one line and a non-zero exit", () => {
    const out = join(dir, "lin.safetensors");
    for (const [data, why] of [
      [join(dir, "nope"), /nope: no such corpus directory/],
      [dir, /no manifest\.jsonl \(not a corpus directory/],
    ] as const) {
      const r = flowmac("fit-linear", "--data", data, "-o", out);
      expect(r.code).not.toBe(0);
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toMatch(why);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("fits a toy corpus into a codec file", () => {
    const corpus = makeToyCorpus(join(dir, "corpus"), 3, 2);
    const stats = join(dir, "stats.json");
    writeFileSync(stats, JSON.stringify(STATS));
    const out = join(dir, "toy.safetensors");
    const r = flowmac("fit-linear", "--data", corpus, "-o", out, "--stats", stats, "--dim", "4", "--stages", "2", "--codebook-size", "16", "--iterations", "5");
    expect(r.err).not.toMatch(/error/);
    expect(r.code).toBe(0);
    const codec: LinearCodec = parseLinearCodec(new Uint8Array(readFileSync(out)), out);
    expect([codec.dim, codec.stages, codec.codebookSize, codec.fit.frames]).toEqual([4, 2, 16, 2 * 94]);
    expect(codec.stats.mean).toEqual(STATS.mean);
  });
});
