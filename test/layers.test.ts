import { beforeAll, describe, expect, it } from "vitest";
import { grad, initJax, np, type JArray } from "../src/nn/runtime.js";
import {
  conv1d, convTranspose1d, groupNorm, withConvAlgorithm, layerNorm, localAttention, localAttentionBias, mish, selfAttention, silu, sinusoidalEmbedding, snakeBeta,
} from "../src/nn/layers.js";
import { Rng } from "../src/nn/rng.js";
import type { NamedTensor } from "../src/util/safetensors.js";
import { maxRelDiff, maxScaledDiff, torchFixture } from "./helpers.js";

let fx: Map<string, NamedTensor>;
const arr = (name: string): JArray => {
  const t = fx.get(name)!;
  return np.array(t.data as Float32Array).reshape(t.shape);
};
/** Fixture activations are [B, C, T]; our layers are channels-last. */
const xBtc = () => arr("x_bct").transpose([0, 2, 1]);
const toBct = (y: JArray) => y.transpose([0, 2, 1]).dataSync() as Float32Array;
const ref = (name: string) => fx.get(name)!.data as Float32Array;
const TOL = 1e-4;
/**
 * Convolutions are sums whose float32 error scales with the outputs' size, not
 * each output's: a per-element relative error blows up on outputs near zero.
 * Against the largest output, im2col is off by 0.8-1.4e-7 here, and a 1% error
 * in any one weight moves the outputs by at least 4.7e-6 (k3; 3.8e-5 for k1).
 */
const CONV_TOL = 1e-6;
const convOut = (name: string, opts: object, w = arr(`${name}.weight`)) => toBct(conv1d({ w, b: arr(`${name}.bias`) }, xBtc(), opts));

beforeAll(async () => {
  await initJax();
  fx = torchFixture("layers");
});

describe("layer parity with PyTorch 1.13 (1e-4 relative; convolutions 1e-6 of the largest output)", () => {
  const convCases: [string, object][] = [
    ["conv_k3", { padding: 1 }],
    ["conv_s2", { stride: 2, padding: 1 }],
    ["conv_d3", { dilation: 3, padding: 3 }],
    ["conv_k1", {}],
  ];
  for (const [name, opts] of convCases) {
    it(`conv1d ${name} (${CONV_TOL} of the largest output)`, () => {
      const y = conv1d({ w: arr(`${name}.weight`), b: arr(`${name}.bias`) }, xBtc(), opts);
      expect(y.shape).toEqual([2, fx.get(`${name}.out`)!.shape[2], fx.get(`${name}.out`)!.shape[1]]);
      expect(maxScaledDiff(toBct(y), ref(`${name}.out`))).toBeLessThan(CONV_TOL);
    });
  }

  it("the conv tolerance catches a 1% error in any one weight (conv_k1, conv_k3)", () => {
    for (const [name, opts] of [convCases[3], convCases[0]]) {
      const w = fx.get(`${name}.weight`)!;
      for (let i = 0; i < w.data.length; i++) {
        const wrong = Float32Array.from(w.data as Float32Array);
        wrong[i] *= 1.01;
        expect(maxScaledDiff(convOut(name, opts, np.array(wrong).reshape(w.shape)), ref(`${name}.out`)), `${name} weight ${i}`).toBeGreaterThan(CONV_TOL);
      }
    }
  });

  for (const [name, opts] of [["conv_k3", { padding: 1 }], ["conv_d3", { dilation: 3, padding: 3 }]] as const) {
    // Winograd reorders the sums, so its error scales with the outputs' size, not
    // each output's: measured 3.9e-7 (k3) and 3.4e-7 (d3) of the largest output,
    // against 1.4e-7 and 1.0e-7 for im2col (and 4.7e-4 element-wise on an output
    // 5000x smaller than the largest, where im2col has 2.7e-5).
    it(`conv1d ${name} by Winograd F(4,3) (2e-6 of the largest output)`, () => {
      const y = conv1d({ w: arr(`${name}.weight`), b: arr(`${name}.bias`) }, xBtc(), { ...opts, algorithm: "winograd" });
      expect(maxScaledDiff(toBct(y), ref(`${name}.out`))).toBeLessThan(2e-6);
    });
  }

  it("Winograd and im2col agree on larger convs (dilations 1-5, uneven padding, lengths not a multiple of 4)", () => {
    const rng = new Rng(11);
    for (const [C, O, T, d, pad] of [[64, 48, 50, 1, [1, 1]], [32, 64, 41, 2, [4, 0]], [16, 16, 23, 5, [0, 3]]] as const) {
      const w = np.array(rng.normalArray(O * C * 3)).reshape([O, C, 3]);
      const x = np.array(rng.normalArray(2 * T * C)).reshape([2, T, C]);
      const opts = { dilation: d, padding: [pad[0], pad[1]] as [number, number] };
      const a = conv1d({ w: w.ref }, x.ref, { ...opts, algorithm: "im2col" });
      const b = conv1d({ w }, x, { ...opts, algorithm: "winograd" });
      expect(b.shape).toEqual(a.shape);
      expect(maxScaledDiff(b.dataSync() as Float32Array, a.dataSync() as Float32Array)).toBeLessThan(2e-6);
    }
  });

  it("conv1d's auto choice: Winograd for 64+ channels and 128+ frames, im2col inside withConvAlgorithm('im2col')", () => {
    const rng = new Rng(12);
    const w = np.array(rng.normalArray(64 * 64 * 3)).reshape([64, 64, 3]);
    const x = np.array(rng.normalArray(2 * 64 * 64)).reshape([2, 64, 64]);
    const run = (algorithm?: "im2col" | "winograd") => Array.from(conv1d({ w: w.ref }, x.ref, { padding: 1, algorithm }).dataSync() as Float32Array);
    const [im2col, winograd] = [run("im2col"), run("winograd")];
    expect(winograd).not.toEqual(im2col); // the two sum in different orders
    expect(run()).toEqual(winograd);
    expect(withConvAlgorithm("im2col", () => run())).toEqual(im2col);
    expect(run()).toEqual(winograd);
    const short = np.array(rng.normalArray(1 * 32 * 64)).reshape([1, 32, 64]); // 32 frames: im2col
    const y = (algorithm?: "im2col") => Array.from(conv1d({ w: w.ref }, short.ref, { padding: 1, algorithm }).dataSync() as Float32Array);
    expect(y()).toEqual(y("im2col"));
  });

  it("conv1d refuses Winograd where it does not apply", () => {
    const w = arr("conv_k3.weight");
    expect(() => conv1d({ w }, xBtc(), { stride: 2, algorithm: "winograd" })).toThrow(/Winograd needs 3 taps and stride 1/);
  });

  it("conv1d with groups (2 groups) equals two separate convolutions", () => {
    const w = arr("conv_k3.weight"); // [6, 8, 3] -> use as [6, 4, 3] halves via a 4-channel weight
    const wg = w.slice([], [0, 4], []); // [6, 4, 3]
    const x = xBtc();
    const y = conv1d({ w: wg.ref }, x.ref, { padding: 1, groups: 2 }).dataSync() as Float32Array;
    const [a, b] = np.split(x, 2, 2);
    const wa = wg.ref.slice([0, 3], [], []);
    const wb = wg.slice([3, 6], [], []);
    const ya = conv1d({ w: wa }, a, { padding: 1 });
    const yb = conv1d({ w: wb }, b, { padding: 1 });
    const want = np.concatenate([ya, yb], 2).dataSync() as Float32Array;
    expect(maxRelDiff(y, want)).toBeLessThan(1e-6);
  });

  it("convTranspose1d k4 s2 p1", () => {
    const y = convTranspose1d({ w: arr("convT_k4s2.weight"), b: arr("convT_k4s2.bias") }, xBtc(), { stride: 2, padding: 1 });
    expect(maxScaledDiff(toBct(y), ref("convT_k4s2.out"))).toBeLessThan(CONV_TOL);
  });

  it("GroupNorm(4)", () => {
    const y = groupNorm({ g: arr("groupnorm4.weight"), b: arr("groupnorm4.bias") }, xBtc(), 4);
    expect(maxRelDiff(toBct(y), ref("groupnorm4.out"))).toBeLessThan(TOL);
  });

  it("LayerNorm", () => {
    const y = layerNorm({ g: arr("layernorm.weight"), b: arr("layernorm.bias") }, arr("x_btc"));
    expect(maxRelDiff(y.dataSync() as Float32Array, ref("layernorm.out"))).toBeLessThan(TOL);
  });

  it("Mish, SiLU", () => {
    expect(maxRelDiff(toBct(mish(xBtc())), ref("mish.out"))).toBeLessThan(TOL);
    expect(maxRelDiff(toBct(silu(xBtc())), ref("silu.out"))).toBeLessThan(TOL);
  });

  it("SnakeBeta (log-scale alpha, beta)", () => {
    const y = snakeBeta(arr("snakebeta.alpha"), arr("snakebeta.beta"), xBtc());
    expect(maxRelDiff(toBct(y), ref("snakebeta.out"))).toBeLessThan(TOL);
  });

  it("2-head self-attention", () => {
    const p = { q: { w: arr("mha2.wq") }, k: { w: arr("mha2.wk") }, v: { w: arr("mha2.wv") }, o: { w: arr("mha2.wo") } };
    const y = selfAttention(p, arr("x_btc"), { heads: 2 });
    expect(maxRelDiff(y.dataSync() as Float32Array, ref("mha2.out"))).toBeLessThan(TOL);
  });

  it("sinusoidal time embedding", () => {
    const y = sinusoidalEmbedding(ref("timestep.t"), 16);
    expect(maxRelDiff(y.dataSync() as Float32Array, ref("timestep.emb16"))).toBeLessThan(TOL);
  });
});

describe("banded local attention", () => {
  const D = 16;
  const p = () => {
    const rng = new Rng(11);
    const lin = () => ({ w: np.array(rng.normalArray(D * D, 0.3)).reshape([D, D]), b: np.array(rng.normalArray(D, 0.1)) });
    return { q: lin(), k: lin(), v: lin(), o: lin() };
  };
  const x = (T: number) => np.array(new Rng(12).normalArray(2 * T * D)).reshape([2, T, D]);

  it("is chosen only where it at least halves the scores computed", () => {
    expect(localAttention(320, 32).band).toEqual({ window: 32, chunk: 64 });
    expect(localAttention(96, 8).band).toEqual({ window: 8, chunk: 16 });
    expect(localAttention(128, 32).band).toBeUndefined(); // training segments: masked product
    expect(localAttention(160, 32).band).toBeUndefined();
    expect(localAttention(320, 0)).toEqual({});
  });

  for (const [T, w] of [[320, 32], [120, 10], [96, 8]] as const)
    it(`equals the masked T x T attention, values and gradients (T ${T}, window ${w})`, () => {
      const { band } = localAttention(T, w);
      const chunk = T % (2 * w) === 0 ? 2 * w : w;
      const banded = { window: w, chunk };
      expect(band === undefined || band.chunk === chunk).toBe(true);
      const f = (o: object) => (params: any, y: JArray) => np.square(selfAttention(params, y, { heads: 2, ...o })).sum();
      const masked = selfAttention(p(), x(T), { heads: 2, mask: localAttentionBias(T, w) }).dataSync() as Float32Array;
      const bandOut = selfAttention(p(), x(T), { heads: 2, band: banded }).dataSync() as Float32Array;
      expect(maxRelDiff(bandOut, masked)).toBeLessThan(1e-4); // float32 summation order only
      const gm = grad(f({ mask: localAttentionBias(T, w) }))(p(), x(T)) as any;
      const gb = grad(f({ band: banded }))(p(), x(T)) as any;
      for (const name of ["q", "k", "v", "o"]) expect(maxRelDiff(gb[name].w.dataSync(), gm[name].w.dataSync()), name).toBeLessThan(1e-3);
    });
});
