import { grad, np, tree, type JArray } from "../src/nn/runtime.js";
import { Rng } from "../src/nn/rng.js";

/**
 * Compares reverse-mode gradients of loss = sum(f(params, x) * r) (r a fixed
 * random projection) with central finite differences at a few random
 * coordinates of every parameter leaf and of the input. Returns the worst
 * relative error. float32, so eps and tolerances are loose-ish.
 */
export function gradCheck(
  f: (p: any, x: JArray) => JArray,
  params: any,
  xData: Float32Array,
  xShape: number[],
  opts: { probes?: number; eps?: number; seed?: number } = {},
): number {
  const rng = new Rng(opts.seed ?? 1);
  const probes = opts.probes ?? 3;
  const eps = opts.eps ?? 1e-2;
  const outShape = f(tree.ref(params), np.array(xData).reshape(xShape)).shape;
  const rData = rng.normalArray(outShape.reduce((a: number, b: number) => a * b, 1));
  const loss = (p: any, x: JArray) => f(p, x).mul(np.array(rData).reshape(outShape)).sum();
  const lossAt = (p: any, xd: Float32Array) => (loss(p, np.array(xd).reshape(xShape)).dataSync() as Float32Array)[0];

  const [gp, gx] = grad(loss, { argnums: [0, 1] })(tree.ref(params), np.array(xData).reshape(xShape)) as [any, JArray];
  let worst = 0;
  const compare = (analytic: number, numeric: number) => {
    const err = Math.abs(analytic - numeric) / Math.max(1e-2, Math.abs(analytic) + Math.abs(numeric));
    worst = Math.max(worst, err);
  };

  // Input coordinates.
  const gxd = gx.dataSync() as Float32Array;
  for (let k = 0; k < probes; k++) {
    const i = rng.int(xData.length);
    const plus = Float32Array.from(xData);
    const minus = Float32Array.from(xData);
    plus[i] += eps;
    minus[i] -= eps;
    compare(gxd[i], (lossAt(params, plus) - lossAt(params, minus)) / (2 * eps));
  }
  // Parameter coordinates, every leaf.
  const [leaves, treedef] = tree.flatten(params) as [JArray[], any];
  const [gleaves] = tree.flatten(gp) as [JArray[], any];
  leaves.forEach((leaf, li) => {
    const base = leaf.ref.dataSync() as Float32Array;
    const g = gleaves[li].ref.dataSync() as Float32Array;
    for (let k = 0; k < probes; k++) {
      const i = rng.int(base.length);
      const at = (delta: number) => {
        const d = Float32Array.from(base);
        d[i] += delta;
        const ls = leaves.map((l, lj) => (lj === li ? np.array(d).reshape(l.shape) : l.ref));
        return lossAt(tree.unflatten(treedef, ls), xData);
      };
      compare(g[i], (at(eps) - at(-eps)) / (2 * eps));
    }
  });
  tree.dispose(gp);
  return worst;
}
