/**
 * jax-js's `dot` (a sum over the last axis, with the other axes broadcast) in
 * ONNX. Backward passes broadcast an operand explicitly before a dot (the
 * gradient of x @ w repeats the output gradient along w's other axis): read as
 * it stands, that dot is an Expand and a Mul + ReduceSum over the broadcast
 * size. Read from the operand before the broadcast it is a MatMul.
 */
import type { Atom, Eqn, GraphBuilder } from "./graph-builder.js";

/** An operand as a tensor of the same rank that is 1 along each axis the operand only repeats. */
interface Operand {
  name: string;
  shape: number[];
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const product = (a: number[]) => a.reduce((p, v) => p * v, 1);

/**
 * The output shape of reshape(in) with 1 along each output axis made only of
 * axes that `inner` (the reshape's input, un-broadcast) repeats; null when a
 * reshape merges repeated and non-repeated axes.
 */
function reshapeOfUnbroadcast(inFull: number[], inner: number[], outFull: number[]): number[] | null {
  const ins = inFull.flatMap((n, i) => (n > 1 ? [i] : []));
  const outs = outFull.flatMap((n, i) => (n > 1 ? [i] : []));
  const shape = outFull.slice();
  let i = 0;
  let j = 0;
  while (i < ins.length && j < outs.length) {
    // The smallest runs of input and output axes with equal sizes map onto each other.
    const gi = [ins[i++]];
    const gj = [outs[j++]];
    let pi = inFull[gi[0]];
    let pj = outFull[gj[0]];
    while (pi !== pj) {
      if (pi < pj && i < ins.length) pi *= inFull[(gi.push(ins[i]), ins[i++])];
      else if (pj < pi && j < outs.length) pj *= outFull[(gj.push(outs[j]), outs[j++])];
      else return null;
    }
    const repeated = gi.map((a) => inner[a] === 1);
    if (repeated.every(Boolean)) for (const a of gj) shape[a] = 1;
    else if (repeated.some(Boolean)) return null;
  }
  return shape;
}

export class DotLowering {
  private unbroadcastCache = new Map<Atom, Operand>();

  constructor(
    private g: GraphBuilder,
    /** The eqn computing each value translated so far. */
    private producers: Map<Atom, Eqn>,
  ) {}

  /** `a` read from before the broadcasts (and the reshapes and transposes after them) it came from. */
  unbroadcast(a: Atom): Operand {
    let r = this.unbroadcastCache.get(a);
    if (!r) {
      r = this.trace(a);
      this.unbroadcastCache.set(a, r);
    }
    return r;
  }

  private trace(a: Atom): Operand {
    const g = this.g;
    const full = { name: g.name(a), shape: a.aval.shape };
    const e = this.producers.get(a);
    if (!e || !["broadcast", "transpose", "reshape"].includes(e.primitive)) return full;
    const src = e.inputs[0];
    const inner = this.unbroadcast(src);
    if (e.primitive === "broadcast") {
      const axes: number[] = e.params.axis;
      if (!axes.length) return inner; // same rank: only size-1 axes grow
      let k = 0;
      const shape = full.shape.map((_, i) => (axes.includes(i) ? 1 : inner.shape[k++]));
      return { name: g.node("Unsqueeze", [inner.name, g.ints(axes)]), shape };
    }
    if (same(inner.shape, src.aval.shape)) return full; // nothing repeated upstream
    if (e.primitive === "transpose") {
      const perm: number[] = e.params.perm;
      return { name: g.node("Transpose", [inner.name], { perm }), shape: perm.map((p) => inner.shape[p]) };
    }
    const shape = reshapeOfUnbroadcast(src.aval.shape, inner.shape, full.shape);
    return shape ? { name: g.node("Reshape", [inner.name, g.ints(shape)]), shape } : full;
  }

  /** dot(x, y) = sum(x * y, axis=-1), broadcasting the other axes. */
  dot(e: Eqn, ins: string[]): string {
    const g = this.g;
    const xs = e.inputs[0].aval.shape;
    const ys = e.inputs[1].aval.shape;
    const out = e.outBinders[0].aval.shape;
    const nd = Math.max(xs.length, ys.length);
    const pad = (s: number[]) => [...Array(nd - s.length).fill(1), ...s];
    const ax = pad(xs);
    const ay = pad(ys);
    if (nd >= 3 && ax[nd - 2] === 1 && ay[nd - 3] === 1) {
      // x @ y as jax-js writes it, x [..., M, 1, K] . y [..., 1, N, K]: MatMul(x[..., M, K], y[..., N, K]^T).
      const a = g.node("Reshape", [ins[0], g.ints([...ax.slice(0, nd - 2), ax[nd - 1]])]);
      const bt = g.node("Reshape", [ins[1], g.ints([...ay.slice(0, nd - 3), ay[nd - 2], ay[nd - 1]])]);
      const b = g.node("Transpose", [bt], { perm: [...Array(nd - 3).keys(), nd - 2, nd - 3] });
      return g.node("MatMul", [a, b]);
    }
    const x = this.unbroadcast(e.inputs[0]);
    const y = this.unbroadcast(e.inputs[1]);
    const rx = pad(x.shape);
    const ry = pad(y.shape);
    const K = ax[nd - 1];
    const mulSum = (a: string, b: string) => g.node("ReduceSum", [g.node("Mul", [a, b]), g.ints([-1])], { keepdims: 0 });
    if (rx[nd - 1] !== K || ry[nd - 1] !== K) return mulSum(ins[0], ins[1]); // an operand repeated along the summed axis (not seen in practice)
    const B: number[] = []; // both vary: batch axes
    const M: number[] = []; // x varies, y repeats
    const N: number[] = []; // y varies, x repeats
    const C: number[] = []; // both repeat (or size 1)
    for (let i = 0; i < nd - 1; i++) (rx[i] > 1 && ry[i] > 1 ? B : rx[i] > 1 ? M : ry[i] > 1 ? N : C).push(i);
    const repeatedOut = C.some((i) => out[i] > 1);
    if (!M.length && !N.length) {
      // Batched inner products: a Mul of the un-broadcast operands broadcasts on its own.
      return repeatedOut ? mulSum(ins[0], ins[1]) : mulSum(x.name, y.name);
    }
    const sizes = (axes: number[]) => axes.map((i) => out[i]);
    const bs = sizes(B);
    const a = this.arrange(x, rx, [...B, ...M, nd - 1], [...bs, product(sizes(M)), K]);
    const b = this.arrange(y, ry, [...B, nd - 1, ...N], [...bs, K, product(sizes(N))]);
    let r = g.node("MatMul", [a, b]);
    // [B.., M, N] -> [B.., M.., N..] -> the output's axis order, with the repeated axes as 1 -> expanded.
    const order = [...B, ...M, ...N];
    const grouped = sizes(order);
    r = this.reshapeIf(r, [...bs, product(sizes(M)), product(sizes(N))], grouped);
    const perm = order.map((_, k) => k).sort((p, q) => order[p] - order[q]);
    r = this.transposeIf(r, perm);
    const kept = out.map((n, i) => (C.includes(i) ? 1 : n));
    r = this.reshapeIf(r, perm.map((p) => grouped[p]), kept);
    return repeatedOut ? g.node("Expand", [r, g.ints(out)]) : r;
  }

  /** An operand with its axes `want` (all of its axes longer than 1, in nd-space `padded`) in that order, reshaped to `shape`. */
  private arrange(op: Operand, padded: number[], want: number[], shape: number[]): string {
    const sorted = want.slice().sort((p, q) => p - q);
    const perm = want.map((a) => sorted.indexOf(a));
    if (perm.every((p, i) => p === i)) return this.reshapeIf(op.name, op.shape, shape);
    const squeezed = this.reshapeIf(op.name, op.shape, sorted.map((a) => padded[a]));
    return this.reshapeIf(this.transposeIf(squeezed, perm), want.map((a) => padded[a]), shape);
  }

  private reshapeIf(name: string, from: number[], to: number[]): string {
    return same(from, to) ? name : this.g.node("Reshape", [name, this.g.ints(to)]);
  }

  private transposeIf(name: string, perm: number[]): string {
    return perm.every((p, i) => p === i) ? name : this.g.node("Transpose", [name], { perm });
  }
}
