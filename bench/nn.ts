/** Benchmarks of the neural core on one core: matmul, conv1d, a transformer training step. */
import { grad, jit, np, tree, valueAndGrad, type JArray } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";
import { initConv1d, initLinear } from "../src/nn/init.js";
import { conv1d, linear, mm, ropeTables } from "../src/nn/layers.js";
import { initTransformerBlock, transformerBlock } from "../src/nn/transformer.js";
import { AdamW, initAdamState } from "../src/nn/optim.js";
import type { Params } from "../src/nn/params.js";
import { bestOf, type BenchRow } from "./util.js";

export async function benchNn(): Promise<BenchRow[]> {
  const rng = new Rng(0);
  const rows: BenchRow[] = [];
  const sync = (out: unknown) => (tree.leaves(out as any) as JArray[]).forEach((x) => x.dataSync());

  for (const n of [256, 512, 1024]) {
    const a = np.array(rng.normalArray(n * n)).reshape([n, n]);
    const f = jit((x: JArray, y: JArray) => mm(x, y));
    const ms = bestOf(() => sync(f(a.ref, a.ref)), 5);
    rows.push({ name: `matmul ${n}x${n}x${n}`, value: (2 * n ** 3) / ms / 1e6, unit: "GFLOP/s", ms });
    a.dispose();
  }

  // Attention-shaped batched matmuls: batch 8 x 4 heads, T 128, head dim 32.
  for (const [label, sa, sb] of [
    ["scores q k^T", [8, 4, 128, 32], [8, 4, 32, 128]],
    ["probabilities x values", [8, 4, 128, 128], [8, 4, 128, 32]],
  ] as const) {
    const a = np.array(rng.normalArray(sa.reduce((p, q) => p * q, 1))).reshape([...sa]);
    const b = np.array(rng.normalArray(sb.reduce((p, q) => p * q, 1))).reshape([...sb]);
    const f = jit((x: JArray, y: JArray) => mm(x, y));
    const ms = bestOf(() => sync(f(a.ref, b.ref)), 5);
    const flops = 2 * 32 * sa[2] * sa[3] * sb[3];
    rows.push({ name: `batched matmul, attention ${label} (32 x [${sa.slice(2).join("x")}]x[${sb.slice(2).join("x")}])`, value: flops / ms / 1e6, unit: "GFLOP/s", ms });
    a.dispose();
    b.dispose();
  }

  // conv1d: batch 4, 256 -> 256 channels, kernel 3, length 256, by Winograd F(4,3) (what
  // conv1d picks for this shape) and by im2col + matmul. GFLOP/s count the direct
  // convolution's multiply-adds for both, so Winograd's figure is an effective rate.
  const B = 4, C = 256, L = 256;
  const w = initConv1d(rng, C, C, 3);
  const x = np.array(rng.normalArray(B * L * C)).reshape([B, L, C]);
  const flops = 2 * B * L * C * C * 3;
  for (const [label, algorithm] of [["Winograd F(4,3)", "auto"], ["im2col", "im2col"]] as const) {
    const opts = { padding: 1, algorithm };
    const fwd = jit((p: any, x: JArray) => conv1d(p, x, opts));
    const fms = bestOf(() => sync(fwd(tree.ref(w), x.ref)), 5);
    rows.push({ name: `conv1d forward (B4 256->256 k3 L256), ${label}`, value: flops / fms / 1e6, unit: "GFLOP/s", ms: fms });
    const bwd = jit(grad((p: any, x: JArray) => np.square(conv1d(p, x, opts)).sum(), { argnums: [0, 1] }));
    const bms = bestOf(() => sync(bwd(tree.ref(w), x.ref)), 5);
    rows.push({ name: `conv1d forward+backward, ${label}`, value: (3 * flops) / bms / 1e6, unit: "GFLOP/s", ms: bms });
  }

  // 6-block transformer training step: dim 128, 4 heads, seq 128, batch 8 (with the Adam update).
  const D = 128, T = 128, TB = 8;
  let params: Params = { blocks: Array.from({ length: 6 }, () => initTransformerBlock(rng, D, 4 * D)), out: initLinear(rng, D, D) };
  const rope = ropeTables(T, D / 4);
  const loss = (p: any, x: JArray, y: JArray) => {
    let h = x;
    for (const b of p.blocks) h = transformerBlock(b, h, { heads: 4, norm: "pre", rope });
    return np.square(linear(p.out, h).sub(y)).mean();
  };
  const step = jit(valueAndGrad(loss));
  const opt = new AdamW();
  const state = initAdamState(params);
  const xs = np.array(rng.normalArray(TB * T * D)).reshape([TB, T, D]);
  const tms = bestOf(() => {
    const [l, g] = step(tree.ref(params), xs.ref, xs.ref);
    l.dataSync();
    params = opt.step(params, g as Params, state, 1e-4).params;
  }, 5);
  rows.push({ name: "transformer train step (6 blocks, d128, 4 heads, T128, B8)", value: tms, unit: "ms", ms: tms });
  return rows;
}
