import { beforeAll, describe, expect, it } from "vitest";
import { initJax, lax, np, type JArray } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";
import { initConv1d, initConvTranspose1d, initLinear, initNorm, normalParam } from "../src/nn/init.js";
import * as L from "../src/nn/layers.js";
import { antiAliased, antialiasFilterArray } from "../src/nn/antialias.js";
import { gradCheck } from "./gradcheck.js";

beforeAll(initJax);

const B = 2, T = 9, C = 4;
const rng = new Rng(7);
const x = () => rng.normalArray(B * T * C);
const TOL = 2e-2;

describe("gradients match finite differences", () => {
  const cases: [string, () => any, (p: any, x: JArray) => JArray][] = [
    ["linear", () => initLinear(rng, C, 3), (p, x) => L.linear(p, x)],
    ["conv1d k3", () => initConv1d(rng, C, 3, 3), (p, x) => L.conv1d(p, x, { padding: 1 })],
    ["conv1d stride 2 dilation 2", () => initConv1d(rng, C, 3, 3), (p, x) => L.conv1d(p, x, { stride: 2, dilation: 2, padding: 2 })],
    ["conv1d k3 by Winograd", () => initConv1d(rng, C, 3, 3), (p, x) => L.conv1d(p, x, { padding: 1, algorithm: "winograd" })],
    ["conv1d dilation 2 by Winograd, uneven padding", () => initConv1d(rng, C, 3, 3), (p, x) => L.conv1d(p, x, { dilation: 2, padding: [3, 1], algorithm: "winograd" })],
    ["conv1d groups 2", () => initConv1d(rng, C, 4, 3, { groups: 2 }), (p, x) => L.conv1d(p, x, { padding: 1, groups: 2 })],
    ["conv1d depthwise k7", () => initConv1d(rng, C, C, 7, { groups: C }), (p, x) => L.conv1d(p, x, { padding: 3, groups: C })],
    ["convTranspose1d k4 s2", () => initConvTranspose1d(rng, C, 3, 4), (p, x) => L.convTranspose1d(p, x, { stride: 2, padding: 1 })],
    ["convTranspose1d k5 s3 (K not a multiple of stride)", () => initConvTranspose1d(rng, C, 3, 5), (p, x) => L.convTranspose1d(p, x, { stride: 3, padding: 1 })],
    ["layerNorm", () => ({ ...initNorm(C), g: normalParam(rng, [C], 1) }), (p, x) => L.layerNorm(p, x)],
    ["groupNorm (sequence)", () => ({ ...initNorm(C), g: normalParam(rng, [C], 1) }), (p, x) => L.groupNorm(p, x, 2)],
    ["groupNorm (per frame)", () => ({ ...initNorm(C), g: normalParam(rng, [C], 1) }), (p, x) => L.groupNorm(p, x, 2, 1e-5, true)],
    ["mish", () => ({}), (_p, x) => L.mish(x)],
    ["silu", () => ({}), (_p, x) => L.silu(x)],
    ["gelu", () => ({}), (_p, x) => L.gelu(x)],
    ["snake", () => ({ a: np.array(rng.uniformArray(C, 0.5, 1.5)) }), (p, x) => L.snake(p.a, x)],
    ["snakeBeta", () => ({ a: normalParam(rng, [C], 0.3), b: normalParam(rng, [C], 0.3) }), (p, x) => L.snakeBeta(p.a, p.b, x)],
    [
      "self-attention with RoPE and a local mask",
      () => ({ q: initLinear(rng, C, C), k: initLinear(rng, C, C), v: initLinear(rng, C, C), o: initLinear(rng, C, C) }),
      (p, x) => L.selfAttention(p, x, { heads: 2, rope: L.ropeTables(T, 2), mask: L.localAttentionBias(T, 3) }),
    ],
    ["feed-forward", () => ({ l1: initLinear(rng, C, 8), l2: initLinear(rng, 8, C) }), (p, x) => L.feedForward(p, x)],
    ["anti-aliased snake", () => ({ a: np.array(rng.uniformArray(C, 0.5, 1.5)) }), (p, x) => antiAliased(x, (y) => L.snake(p.a, y), antialiasFilterArray())],
  ];
  for (const [name, makeParams, f] of cases) {
    it(name, () => {
      expect(gradCheck(f, makeParams(), x(), [B, T, C])).toBeLessThan(TOL);
    });
  }

  it("the check itself catches a wrong gradient (stop_gradient on half the function)", () => {
    const f = (_p: any, xx: JArray) => xx.ref.add(lax.stopGradient(np.square(xx)));
    expect(gradCheck(f, {}, x(), [B, T, C])).toBeGreaterThan(0.1);
  });

  it("embedding lookup", () => {
    const table = normalParam(rng, [5, C], 1);
    const ids = np.array([0, 3, 3, 1], { dtype: np.int32 });
    const f = (p: any, xx: JArray) => L.embedding(p.t, ids.ref).mul(xx);
    expect(gradCheck(f, { t: table }, rng.normalArray(4 * C), [4, C])).toBeLessThan(TOL);
  });
});
