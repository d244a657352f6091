/**
 * Peephole fusion on a jaxpr before ONNX translation: jax-js writes softmax,
 * layer norm, GELU and argmin as chains of 5-15 element-wise primitives;
 * onnxruntime runs each as one kernel (Softmax, LayerNormalization, Gelu,
 * ArgMin) several times faster. Subtraction (add of a neg) becomes one Sub.
 * (Not Mish or Softplus: onnxruntime's kernels for those measured slower
 * here than the element-wise chains, CFM evaluation +15%.)
 * A chain is fused only when its intermediate values are used nowhere else,
 * so the fused graph computes the same function.
 */

export interface FuseAtom {
  aval: { shape: number[]; dtype: string };
  value?: number | boolean;
}
export interface FuseEqn {
  primitive: string;
  inputs: FuseAtom[];
  outBinders: FuseAtom[];
  params: Record<string, any>;
}

/** Primitives this pass introduces (handled by the exporter). */
export const FUSED_SOFTMAX = "fused_softmax";
export const FUSED_LAYER_NORM = "fused_layer_norm";
export const FUSED_GELU = "fused_gelu";
export const FUSED_ARGMIN = "fused_argmin";
export const FUSED_SUB = "fused_sub";

/** Values of the graph's constants (jaxpr consts), for patterns that must check them. */
export type ConstValues = Map<FuseAtom, ArrayLike<number>>;

class Uses {
  private consumerIndices = new Map<FuseAtom, number[]>();
  private count = new Map<FuseAtom, number>();
  private producers = new Map<FuseAtom, number>();

  constructor(
    private eqns: FuseEqn[],
    outs: FuseAtom[],
  ) {
    eqns.forEach((e, i) => {
      for (const o of e.outBinders) this.producers.set(o, i);
      for (const a of e.inputs) {
        if (a.value !== undefined) continue;
        this.count.set(a, (this.count.get(a) ?? 0) + 1);
        const c = this.consumerIndices.get(a) ?? [];
        if (!c.includes(i)) c.push(i);
        this.consumerIndices.set(a, c);
      }
    });
    for (const o of outs) this.count.set(o, (this.count.get(o) ?? 0) + 1 + eqns.length); // graph outputs are never internal
  }

  /** How many times `a` is read (graph outputs count as many). */
  reads(a: FuseAtom): number {
    return this.count.get(a) ?? 0;
  }

  /** The eqns that read `a`, each once, in order. */
  consumers(a: FuseAtom): { i: number; e: FuseEqn }[] {
    return (this.consumerIndices.get(a) ?? []).map((i) => ({ i, e: this.eqns[i] }));
  }

  /** The eqn computing `a`, or null for inputs and constants. */
  producer(a: FuseAtom): { i: number; e: FuseEqn } | null {
    const i = this.producers.get(a);
    return i === undefined ? null : { i, e: this.eqns[i] };
  }

  /** The single eqn reading `a`, if `a` is read exactly once, or null. */
  only(a: FuseAtom): { i: number; e: FuseEqn } | null {
    const c = this.consumers(a);
    return this.reads(a) === 1 && c.length === 1 ? c[0] : null;
  }
}

const isScalar = (a: FuseAtom, v: number, rel = 1e-6) => typeof a.value === "number" && Math.abs(a.value - v) <= rel * Math.abs(v);
const lastAxis = (e: FuseEqn, rank: number) => Array.isArray(e.params.axis) && e.params.axis.length === 1 && e.params.axis[0] === rank - 1;
/** The operand of a binary eqn that is not `a` (commutative ops), or null if `a` is not an operand. */
const other = (e: FuseEqn, a: FuseAtom): FuseAtom | null => (e.inputs[0] === a ? e.inputs[1] : e.inputs[1] === a ? e.inputs[0] : null);

interface Match {
  /** Eqns to drop; the fused eqn takes the place of the last one. */
  drop: number[];
  fused: FuseEqn;
}

/**
 * The start of a chain rooted at eqn i, a float32 reduce `op` over the last
 * axis followed by the reshape that keeps its dimension: its input x, x's rank,
 * the reduced value (`kept`, with the kept dimension), the eqns taken so far, and
 * `step`, which follows a value to its only consumer if that is a `prim` eqn
 * (and takes it).
 */
function chainAt(eqns: FuseEqn[], uses: Uses, i: number, op: string) {
  const e = eqns[i];
  if (e.primitive !== "reduce" || e.params.op !== op) return null;
  const x = e.inputs[0];
  const rank = x.aval.shape.length;
  if (!lastAxis(e, rank) || x.aval.dtype !== "float32") return null;
  const drop = [i];
  const step = (a: FuseAtom, prim: string): FuseEqn | null => {
    const n = uses.only(a);
    if (!n || n.e.primitive !== prim) return null;
    drop.push(n.i);
    return n.e;
  };
  const rs = step(e.outBinders[0], "reshape");
  return rs && { x, rank, kept: rs.outBinders[0], drop, step };
}

/** reduce_max -> reshape -> [stop_gradient] -> neg -> add x -> exp -> reduce_sum -> reshape -> reciprocal -> mul. */
function matchSoftmax(eqns: FuseEqn[], uses: Uses, i: number): Match | null {
  const c = chainAt(eqns, uses, i, "Max");
  if (!c) return null;
  const { x, rank, drop, step } = c;
  let m = c.kept;
  const sg = uses.only(m);
  if (sg?.e.primitive === "stop_gradient") {
    drop.push(sg.i);
    m = sg.e.outBinders[0];
  }
  const neg = step(m, "neg");
  const add = neg && step(neg.outBinders[0], "add");
  if (!add || other(add, neg!.outBinders[0]) !== x) return null;
  const exp = step(add.outBinders[0], "exp");
  if (!exp) return null;
  const ex = exp.outBinders[0];
  // exp's output feeds the sum and the final product: two uses in two eqns.
  const consumers = uses.consumers(ex);
  if (consumers.length !== 2) return null;
  const sumAt = consumers.find(({ e: q }) => q.primitive === "reduce" && q.params.op === "Add" && lastAxis(q, rank));
  const mulAt = consumers.find(({ e: q }) => q.primitive === "mul");
  if (!sumAt || !mulAt || uses.reads(ex) !== 2) return null;
  drop.push(sumAt.i);
  const rs2 = step(sumAt.e.outBinders[0], "reshape");
  const rec = rs2 && step(rs2.outBinders[0], "reciprocal");
  if (!rec || uses.only(rec.outBinders[0])?.i !== mulAt.i || other(mulAt.e, rec.outBinders[0]) !== ex) return null;
  drop.push(mulAt.i);
  return { drop, fused: { primitive: FUSED_SOFTMAX, inputs: [x], outBinders: mulAt.e.outBinders, params: { axis: rank - 1 } } };
}

/**
 * Layer norm over the last axis: sum/n -> neg -> add x (= h) -> h*h -> sum/n
 * -> + eps -> sqrt -> reciprocal -> h * r, then optionally * gamma and + beta
 * (vectors over the last axis).
 */
function matchLayerNorm(eqns: FuseEqn[], uses: Uses, i: number): Match | null {
  const c = chainAt(eqns, uses, i, "Add");
  if (!c) return null;
  const { x, rank, kept, drop, step } = c;
  const D = x.aval.shape[rank - 1];
  const mean = step(kept, "mul");
  if (!mean || !isScalar(other(mean, kept)!, 1 / D)) return null;
  const neg = step(mean.outBinders[0], "neg");
  const cen = neg && step(neg.outBinders[0], "add");
  if (!cen || other(cen, neg!.outBinders[0]) !== x) return null;
  const h = cen.outBinders[0];
  // h is used three times: twice by h*h, once by the final h * r.
  const hc = uses.consumers(h);
  if (hc.length !== 2) return null;
  const sq = hc.find(({ e: q }) => q.primitive === "mul" && q.inputs[0] === h && q.inputs[1] === h);
  const scale = hc.find(({ e: q }) => q !== sq?.e && q.primitive === "mul");
  if (!sq || !scale || uses.reads(h) !== 3) return null;
  drop.push(sq.i);
  const sum = step(sq.e.outBinders[0], "reduce");
  if (!sum || sum.params.op !== "Add" || !lastAxis(sum, rank)) return null;
  const rs2 = step(sum.outBinders[0], "reshape");
  const varE = rs2 && step(rs2.outBinders[0], "mul");
  if (!varE || !isScalar(other(varE, rs2!.outBinders[0])!, 1 / D)) return null;
  const addEps = step(varE.outBinders[0], "add");
  const eps = addEps && other(addEps, varE.outBinders[0]);
  if (!addEps || !eps || typeof eps.value !== "number") return null;
  const sqrt = step(addEps.outBinders[0], "sqrt");
  const rec = sqrt && step(sqrt.outBinders[0], "reciprocal");
  if (!rec || uses.only(rec.outBinders[0])?.i !== scale.i || other(scale.e, rec.outBinders[0]) !== h) return null;
  drop.push(scale.i);
  let out = scale.e.outBinders[0];
  const inputs: FuseAtom[] = [x];
  const isVector = (a: FuseAtom | null) => !!a && a.value === undefined && a.aval.shape.length === 1 && a.aval.shape[0] === D;
  const g = uses.only(out);
  if (g?.e.primitive === "mul" && isVector(other(g.e, out))) {
    inputs.push(other(g.e, out)!);
    drop.push(g.i);
    out = g.e.outBinders[0];
    const b = uses.only(out);
    if (b?.e.primitive === "add" && isVector(other(b.e, out))) {
      inputs.push(other(b.e, out)!);
      drop.push(b.i);
      out = b.e.outBinders[0];
    }
  }
  return { drop, fused: { primitive: FUSED_LAYER_NORM, inputs, outBinders: [out], params: { epsilon: eps.value, dim: D } } };
}

/** Exact GELU as nn/layers.ts writes it: (x * 0.5) * (erf(x * 1/sqrt 2) + 1), rooted at the erf. */
function matchGelu(eqns: FuseEqn[], uses: Uses, i: number): Match | null {
  const erf = eqns[i];
  if (erf.primitive !== "erf" || erf.inputs[0].aval.dtype !== "float32") return null;
  const scaled = uses.producer(erf.inputs[0]);
  if (!scaled || scaled.e.primitive !== "mul" || uses.reads(erf.inputs[0]) !== 1) return null;
  const [p, q] = scaled.e.inputs;
  const x = isScalar(q, Math.SQRT1_2) ? p : isScalar(p, Math.SQRT1_2) ? q : null;
  if (!x || x.value !== undefined) return null;
  const add = uses.only(erf.outBinders[0]);
  if (!add || add.e.primitive !== "add" || !isScalar(other(add.e, erf.outBinders[0])!, 1)) return null;
  const mul = uses.only(add.e.outBinders[0]);
  const half = mul?.e.primitive === "mul" ? other(mul.e, add.e.outBinders[0]) : null;
  const halfAt = half && uses.producer(half);
  if (!mul || !half || !halfAt || halfAt.e.primitive !== "mul" || uses.reads(half) !== 1 || other(halfAt.e, x) === null || !isScalar(other(halfAt.e, x)!, 0.5)) return null;
  if (mul.e.outBinders[0].aval.shape.join() !== x.aval.shape.join()) return null; // no broadcasting inside the chain
  return { drop: [scaled.i, i, add.i, halfAt.i, mul.i], fused: { primitive: FUSED_GELU, inputs: [x], outBinders: mul.e.outBinders, params: {} } };
}

/**
 * jax-js's argmin over the last axis: m = min(x) -> equal(x, m) -> int32 ->
 * times the constant [K, K-1, .., 1] -> max -> K - that: the first minimum's
 * index, as ONNX ArgMin computes it.
 */
function matchArgmin(eqns: FuseEqn[], uses: Uses, i: number, consts: ConstValues): Match | null {
  const c = chainAt(eqns, uses, i, "Min");
  if (!c) return null;
  const { x, rank, kept, drop, step } = c;
  const K = x.aval.shape[rank - 1];
  const eq = step(kept, "compare");
  if (!eq || eq.params.op !== "equal" || other(eq, kept) !== x) return null;
  const cast = step(eq.outBinders[0], "cast");
  const mul = cast && cast.params.dtype === "int32" ? step(cast.outBinders[0], "mul") : null;
  const iota = mul && other(mul, cast!.outBinders[0]);
  const values = iota && consts.get(iota);
  if (!values || values.length !== K || iota!.aval.shape.length !== 1 || Array.from(values).some((v, k) => v !== K - k)) return null;
  const max = step(mul!.outBinders[0], "reduce");
  if (!max || max.params.op !== "Max" || !lastAxis(max, rank)) return null;
  const neg = step(max.outBinders[0], "neg");
  const add = neg && step(neg.outBinders[0], "add");
  if (!add || !isScalar(other(add, neg!.outBinders[0])!, K)) return null;
  return { drop, fused: { primitive: FUSED_ARGMIN, inputs: [x], outBinders: add.outBinders, params: { axis: rank - 1 } } };
}

/** a + neg(b), jax-js's subtraction, as one Sub when neg(b) is used nowhere else. */
function matchSub(eqns: FuseEqn[], uses: Uses, i: number): Match | null {
  const neg = eqns[i];
  if (neg.primitive !== "neg") return null;
  const add = uses.only(neg.outBinders[0]);
  if (!add || add.e.primitive !== "add") return null;
  const a = other(add.e, neg.outBinders[0])!;
  return { drop: [i, add.i], fused: { primitive: FUSED_SUB, inputs: [a, neg.inputs[0]], outBinders: add.e.outBinders, params: {} } };
}

/** The eqns with every fusable softmax, layer-norm, GELU, argmin and subtraction chain replaced by one fused eqn. */
export function fuseOps(eqns: FuseEqn[], outs: FuseAtom[], consts: ConstValues = new Map()): FuseEqn[] {
  const uses = new Uses(eqns, outs);
  const dropped = new Set<number>();
  const placed = new Map<number, FuseEqn>();
  for (let i = 0; i < eqns.length; i++) {
    if (dropped.has(i)) continue;
    const m = matchSoftmax(eqns, uses, i) ?? matchLayerNorm(eqns, uses, i) ?? matchGelu(eqns, uses, i) ?? matchArgmin(eqns, uses, i, consts) ?? matchSub(eqns, uses, i);
    if (!m || m.drop.some((k) => dropped.has(k))) continue;
    m.drop.forEach((k) => dropped.add(k));
    placed.set(Math.max(...m.drop), m.fused);
  }
  return eqns.flatMap((e, i) => (placed.has(i) ? [placed.get(i)!] : dropped.has(i) ? [] : [e]));
}
