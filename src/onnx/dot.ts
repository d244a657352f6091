/**
 * jax-js's `dot` (a sum over the last axis, with the other axes broadcast) in
 * ONNX. Backward passes broadcast an operand explicitly before a dot (the
 * gradient of x @ w repeats the output gradient along w's other axis), and
 * transpose and reshape operands into [.., K] layouts: read as it stands, such
 * a dot is an Expand and a Mul + ReduceSum over the broadcast size, after
 * copies of the operands. Each operand is instead read as a view of a tensor
 * from before those broadcasts, transposes and reshapes, and the dot becomes
 * one MatMul on operands laid out with as few transposes as possible.
 * Element-wise ops read broadcast operands the same way (ONNX broadcasts them
 * itself), without the Expand.
 */
import type { Atom, Eqn, GraphBuilder } from "./graph-builder.js";

/**
 * An operand as reshape(transpose(base, perm), shape), where `shape` is 1
 * along each axis the operand only repeats (a broadcast it came from).
 */
interface View {
  base: string;
  baseShape: number[];
  perm: number[];
  shape: number[];
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);
const product = (a: number[]) => a.reduce((p, v) => p * v, 1);
const identity = (n: number) => [...Array(n).keys()];
const increasing = (a: number[]) => a.every((v, i) => i === 0 || a[i - 1] < v);

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

/**
 * For a reshape from `from` to `to` that only merges runs of consecutive axes
 * (size-1 axes aside): the axes of `from` each axis of `to` is made of (none
 * for size 1). Null when the reshape splits an axis.
 */
function mergeGroups(from: number[], to: number[]): number[][] | null {
  const groups: number[][] = [];
  let i = 0;
  const skipOnes = () => {
    while (i < from.length && from[i] === 1) i++;
  };
  for (const n of to) {
    const group: number[] = [];
    let p = 1;
    while (p < n) {
      skipOnes();
      if (i >= from.length) return null;
      p *= from[i];
      group.push(i++);
    }
    if (p !== n) return null;
    groups.push(group);
  }
  skipOnes();
  return i === from.length ? groups : null;
}

export class DotLowering {
  private views = new Map<Atom, View>();

  constructor(
    private g: GraphBuilder,
    /** The eqn computing each value translated so far. */
    private producers: Map<Atom, Eqn>,
  ) {}

  private leaf(name: string, shape: number[]): View {
    return { base: name, baseShape: shape, perm: identity(shape.length), shape };
  }

  /** `a` as a view of a tensor from before the broadcasts, transposes and reshapes it came from. */
  private view(a: Atom): View {
    let v = this.views.get(a);
    if (!v) {
      v = this.trace(a);
      this.views.set(a, v);
    }
    return v;
  }

  private trace(a: Atom): View {
    const e = this.producers.get(a);
    if (!e || !["broadcast", "transpose", "reshape"].includes(e.primitive)) return this.leaf(this.g.name(a), a.aval.shape);
    const src = e.inputs[0];
    const v = this.view(src);
    if (e.primitive === "broadcast") {
      const axes: number[] = e.params.axis;
      if (!axes.length) return v; // same rank: only size-1 axes grow
      let k = 0;
      return { ...v, shape: a.aval.shape.map((_, i) => (axes.includes(i) ? 1 : v.shape[k++])) };
    }
    if (e.primitive === "reshape") {
      const shape = reshapeOfUnbroadcast(src.aval.shape, v.shape, a.aval.shape);
      return shape ? { ...v, shape } : this.leaf(this.g.name(a), a.aval.shape);
    }
    // A transpose of merged axis runs permutes the runs.
    const perm: number[] = e.params.perm;
    const groups = mergeGroups(this.transposedShape(v), v.shape);
    if (!groups) {
      const name = this.g.node("Transpose", [this.materialize(v)], { perm });
      return this.leaf(name, perm.map((p) => v.shape[p]));
    }
    return { ...v, perm: this.basePerm(v, perm.map((p) => groups[p])), shape: perm.map((p) => v.shape[p]) };
  }

  private transposedShape(v: View): number[] {
    return v.perm.map((p) => v.baseShape[p]);
  }

  /** A full permutation of v's base axes: the given runs of transposed axes in order, unlisted (size-1) axes first. */
  private basePerm(v: View, runs: number[][]): number[] {
    const listed = runs.flat().map((t) => v.perm[t]);
    const rest = identity(v.baseShape.length).filter((b) => !listed.includes(b));
    return [...rest, ...listed];
  }

  private materialize(v: View): string {
    return this.reshapeIf(this.transposeIf(v.base, v.perm), this.transposedShape(v), v.shape);
  }

  /** Each operand's view (null for literals). */
  private operandViews(e: Eqn): (View | null)[] {
    return e.inputs.map((a) => (a.value !== undefined ? null : this.view(a)));
  }

  /**
   * An element-wise op whose operands all repeat along some axes (broadcasts,
   * or values computed from them) computed once on the un-repeated values by
   * `op`: returns an Expand of that to the full shape (dropped where nothing
   * needs the full value), or null when some operand does not repeat.
   */
  elementwiseOnRepeated(e: Eqn, ins: string[], op: (inputs: string[]) => string): string | null {
    const out = e.outBinders[0].aval.shape;
    const views = this.operandViews(e);
    const operands = views.filter((v): v is View => v !== null);
    if (!operands.length || operands.some((v) => v.shape.length !== out.length)) return null;
    if (views.some((v, i) => v && same(v.shape, e.inputs[i].aval.shape))) return null;
    const shape = out.map((_, i) => Math.max(...operands.map((v) => v.shape[i])));
    if (same(shape, out)) return null;
    const r = op(views.map((v, i) => (v ? this.materialize(v) : ins[i])));
    this.views.set(e.outBinders[0], this.leaf(r, shape));
    return this.g.node("Expand", [r, this.g.ints(out)]);
  }

  /**
   * The operands of an element-wise op, each that repeats along some axes read
   * un-repeated where another operand already has the output's shape: ONNX
   * broadcasts it again, without the copy.
   */
  elementwiseInputs(e: Eqn, ins: string[]): string[] {
    const out = e.outBinders[0].aval.shape;
    const views = this.operandViews(e);
    const repeated = views.map((v, i) => !!v && v.shape.length === out.length && !same(v.shape, e.inputs[i].aval.shape));
    if (!e.inputs.some((a, i) => !repeated[i] && same(a.aval.shape, out))) return ins;
    return ins.map((name, i) => (repeated[i] ? this.materialize(views[i]!) : name));
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
    const x = this.view(e.inputs[0]);
    const y = this.view(e.inputs[1]);
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
      return repeatedOut ? mulSum(ins[0], ins[1]) : mulSum(this.materialize(x), this.materialize(y));
    }
    const sizes = (axes: number[]) => axes.map((i) => out[i]);
    const bs = sizes(B);
    const [pM, pN] = [product(sizes(M)), product(sizes(N))];
    const a = this.matrix(x, nd, B, M, [nd - 1], [...bs, pM, K]);
    const b = this.matrix(y, nd, B, [nd - 1], N, [...bs, K, pN]);
    let r = g.node("MatMul", [a, b]);
    // [B.., M, N] -> [B.., M.., N..] -> the output's axis order, with the repeated axes as 1 -> expanded.
    const order = [...B, ...M, ...N];
    const grouped = sizes(order);
    r = this.reshapeIf(r, [...bs, pM, pN], grouped);
    const perm = order.map((_, k) => k).sort((p, q) => order[p] - order[q]);
    r = this.transposeIf(r, perm);
    const kept = out.map((n, i) => (C.includes(i) ? 1 : n));
    r = this.reshapeIf(r, perm.map((p) => grouped[p]), kept);
    return repeatedOut ? g.node("Expand", [r, g.ints(out)]) : r;
  }

  /**
   * An operand as a MatMul operand `shape` [B.., rows, cols] (axes in nd-space;
   * every axis of the operand longer than 1 is in B, rows or cols). Read
   * straight from the view's base where its layout already is [B.., rows..,
   * cols..], or [B.., cols.., rows..] plus a transpose of the last two axes
   * (which onnxruntime folds into the MatMul); else with one transpose.
   */
  private matrix(v: View, nd: number, B: number[], rows: number[], cols: number[], shape: number[]): string {
    const offset = nd - v.shape.length;
    const groups = mergeGroups(this.transposedShape(v), v.shape);
    if (!groups) return this.matrix(this.leaf(this.materialize(v), v.shape), nd, B, rows, cols, shape);
    const runs = (axes: number[]) => axes.map((i) => groups[i - offset]);
    const straight = this.basePerm(v, runs([...B, ...rows, ...cols]));
    const nonUnit = (perm: number[]) => perm.filter((p) => v.baseShape[p] > 1);
    if (increasing(nonUnit(straight))) return this.reshapeIf(v.base, v.baseShape, shape);
    const swapped = this.basePerm(v, runs([...B, ...cols, ...rows]));
    if (increasing(nonUnit(swapped))) {
      const n = shape.length;
      const t = this.reshapeIf(v.base, v.baseShape, [...shape.slice(0, n - 2), shape[n - 1], shape[n - 2]]);
      return this.g.node("Transpose", [t], { perm: [...identity(n - 2), n - 1, n - 2] });
    }
    return this.reshapeIf(this.g.node("Transpose", [v.base], { perm: straight }), straight.map((p) => v.baseShape[p]), shape);
  }

  private reshapeIf(name: string, from: number[], to: number[]): string {
    return same(from, to) ? name : this.g.node("Reshape", [name, this.g.ints(to)]);
  }

  private transposeIf(name: string, perm: number[]): string {
    return perm.every((p, i) => p === i) ? name : this.g.node("Transpose", [name], { perm });
  }
}
