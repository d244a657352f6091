/**
 * Exports a jax-js function to ONNX by tracing it (makeJaxpr) and translating
 * each primitive of the jaxpr to ONNX operators (opset 18). The model code is
 * written once, in jax-js; this file only knows primitives. Traces are
 * shape-specialised, so each export is for fixed input shapes (the inference
 * pipeline runs fixed-size blocks).
 */
import { makeJaxpr, tree, type JArray } from "../nn/runtime.js";
import { FUSED_ARGMIN, FUSED_GELU, FUSED_LAYER_NORM, FUSED_SOFTMAX, FUSED_SUB, fuseOps, type ConstValues } from "./fuse.js";
import { DT, encodeModel, type AttrValue, type OnnxDType, type OnnxGraph, type OnnxNode, type OnnxTensor } from "./proto.js";

/** 20 for its Gelu operator (the ops used otherwise mean the same as in opset 18). */
export const OPSET = 20;

interface Aval {
  shape: number[];
  dtype: string;
}
interface Atom {
  aval: Aval;
  value?: number | boolean;
  id?: number;
}
interface Eqn {
  primitive: string;
  inputs: Atom[];
  outBinders: Atom[];
  params: Record<string, any>;
}
interface Jaxpr {
  inBinders: Atom[];
  eqns: Eqn[];
  outs: Atom[];
}

export interface ExportArg {
  name: string;
  value: unknown;
  /** "input": a graph input (fed at run time); "weight": stored in the file. */
  kind: "input" | "weight";
}

function onnxType(dtype: string): OnnxDType {
  switch (dtype) {
    case "float32":
      return DT.FLOAT;
    case "int32":
      return DT.INT32;
    case "bool":
      return DT.BOOL;
    default:
      throw new Error(`ONNX export: dtype ${dtype} is not supported`);
  }
}

function rawOf(dtype: string, data: ArrayLike<number | boolean>): Uint8Array {
  if (dtype === "float32") return new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer);
  if (dtype === "int32") return new Uint8Array(Int32Array.from(data as ArrayLike<number>).buffer);
  if (dtype === "bool") return Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
  throw new Error(`ONNX export: dtype ${dtype} is not supported`);
}

const int64 = (values: number[]) => new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);

class GraphBuilder {
  nodes: OnnxNode[] = [];
  initializers: OnnxTensor[] = [];
  private names = new Map<Atom, string>();
  private counter = 0;
  private constCache = new Map<string, string>();

  fresh(prefix = "t"): string {
    return `${prefix}${this.counter++}`;
  }

  bind(atom: Atom, name: string): void {
    this.names.set(atom, name);
  }

  name(atom: Atom): string {
    if (atom.value !== undefined) return this.scalar(atom.aval.dtype, Number(atom.value));
    const n = this.names.get(atom);
    if (!n) throw new Error("ONNX export: use of an unbound variable");
    return n;
  }

  scalar(dtype: string, v: number): string {
    const key = `${dtype}:${v}`;
    let n = this.constCache.get(key);
    if (!n) {
      n = this.fresh("c");
      this.initializers.push({ name: n, dtype: onnxType(dtype), dims: [], raw: rawOf(dtype, [v]) });
      this.constCache.set(key, n);
    }
    return n;
  }

  ints(values: number[]): string {
    const key = `i64:${values.join(",")}`;
    let n = this.constCache.get(key);
    if (!n) {
      n = this.fresh("c");
      this.initializers.push({ name: n, dtype: DT.INT64, dims: [values.length], raw: int64(values) });
      this.constCache.set(key, n);
    }
    return n;
  }

  constant(values: Float32Array, dims: number[]): string {
    const n = this.fresh("c");
    this.initializers.push({ name: n, dtype: DT.FLOAT, dims, raw: new Uint8Array(values.buffer.slice(0)) });
    return n;
  }

  node(op: string, inputs: string[], attrs?: Record<string, AttrValue>, out?: string): string {
    const o = out ?? this.fresh();
    this.nodes.push({ op, inputs, outputs: [o], attrs });
    return o;
  }
}

const UNARY: Record<string, string> = {
  neg: "Neg", reciprocal: "Reciprocal", exp: "Exp", log: "Log", sin: "Sin", cos: "Cos", sqrt: "Sqrt",
  erf: "Erf", floor: "Floor", ceil: "Ceil", stop_gradient: "Identity",
};
const BINARY: Record<string, string> = { add: "Add", mul: "Mul", min: "Min", max: "Max" };
const REDUCE: Record<string, string> = { Add: "ReduceSum", Max: "ReduceMax", Min: "ReduceMin", Mul: "ReduceProd" };
const COMPARE: Record<string, string> = { less: "Less", greater: "Greater", equal: "Equal", less_equal: "LessOrEqual", greater_equal: "GreaterOrEqual" };

function emit(g: GraphBuilder, jp: Jaxpr, consts: ConstValues = new Map()): void {
  for (const e of fuseOps(jp.eqns, jp.outs, consts) as Eqn[]) {
    const ins = e.inputs.map((a) => g.name(a));
    const out = e.outBinders[0];
    const p = e.params;
    let r: string;
    if (e.primitive === "jit" && p.name === "tanh" && ins.length === 1 && e.outBinders.length === 1) {
      // jax-js's tanh (a nested jit of ~9 element-wise ops) is one ONNX Tanh.
      g.bind(out, g.node("Tanh", ins));
      continue;
    }
    if (e.primitive === "jit") {
      // Inline the nested jaxpr.
      const sub: Jaxpr = p.jaxpr.jaxpr ?? p.jaxpr;
      const consts: unknown[] = p.jaxpr.consts ?? [];
      if (consts.length) throw new Error("ONNX export: nested jit with constants is not supported");
      sub.inBinders.forEach((b, i) => g.bind(b, ins[i]));
      emit(g, sub);
      e.outBinders.forEach((o, i) => g.bind(o, g.name(sub.outs[i])));
      continue;
    }
    switch (e.primitive) {
      case "add":
      case "mul":
      case "min":
      case "max":
        r = g.node(BINARY[e.primitive], ins);
        break;
      case "neg":
      case "reciprocal":
      case "exp":
      case "log":
      case "sin":
      case "cos":
      case "sqrt":
      case "erf":
      case "floor":
      case "ceil":
      case "stop_gradient":
        r = g.node(UNARY[e.primitive], ins);
        break;
      case "erfc":
        r = g.node("Sub", [g.scalar(out.aval.dtype, 1), g.node("Erf", ins)]);
        break;
      case "reduce": {
        const op = REDUCE[p.op];
        if (!op) throw new Error(`ONNX export: reduce op ${p.op} is not supported`);
        r = g.node(op, [ins[0], g.ints(p.axis)], { keepdims: 0 });
        break;
      }
      case "dot":
        r = emitDot(g, e, ins);
        break;
      case FUSED_SOFTMAX:
        r = g.node("Softmax", ins, { axis: p.axis });
        break;
      case FUSED_GELU:
        r = g.node("Gelu", ins);
        break;
      case FUSED_SUB:
        r = g.node("Sub", ins);
        break;
      case FUSED_ARGMIN: // ONNX ArgMin gives int64 (the first minimum's index, like jax-js's)
        r = g.node("Cast", [g.node("ArgMin", ins, { axis: p.axis, keepdims: 0 })], { to: onnxType("int32") });
        break;
      case FUSED_LAYER_NORM: {
        // LayerNormalization needs a scale; a bias is optional.
        const scale = ins[1] ?? g.constant(new Float32Array(p.dim).fill(1), [p.dim]);
        r = g.node("LayerNormalization", [ins[0], scale, ...ins.slice(2)], { axis: -1, epsilon: { float: p.epsilon } });
        break;
      }
      case "compare":
        if (p.op === "not_equal") r = g.node("Not", [g.node("Equal", ins)]);
        else if (COMPARE[p.op]) r = g.node(COMPARE[p.op], ins);
        else throw new Error(`ONNX export: compare op ${p.op} is not supported`);
        break;
      case "where":
        r = g.node("Where", ins);
        break;
      case "cast":
        r = g.node("Cast", ins, { to: onnxType(p.dtype) });
        break;
      case "concatenate":
        r = g.node("Concat", ins, { axis: p.axis });
        break;
      case "transpose":
        r = g.node("Transpose", ins, { perm: p.perm });
        break;
      case "reshape":
        r = g.node("Reshape", [ins[0], g.ints(p.shape)]);
        break;
      case "broadcast": {
        let x = ins[0];
        if (p.axis.length) x = g.node("Unsqueeze", [x, g.ints(p.axis)]);
        r = g.node("Expand", [x, g.ints(p.shape)]);
        break;
      }
      case "shrink": {
        const sl = p.slice as [number, number][];
        r = g.node("Slice", [ins[0], g.ints(sl.map((s) => s[0])), g.ints(sl.map((s) => s[1])), g.ints(sl.map((_, i) => i))]);
        break;
      }
      case "flip": {
        // Slice backwards along each flipped axis: from -1 to before index 0, step -1.
        const ax = p.axis as number[];
        r = g.node("Slice", [ins[0], g.ints(ax.map(() => -1)), g.ints(ax.map(() => -(2 ** 53))), g.ints(ax), g.ints(ax.map(() => -1))]);
        break;
      }
      case "pad": {
        const w = p.width as [number, number][];
        r = g.node("Pad", [ins[0], g.ints([...w.map((x) => x[0]), ...w.map((x) => x[1])]), g.scalar(e.inputs[0].aval.dtype, 0)]);
        break;
      }
      case "gather": {
        if (p.axis.length !== 1 || p.outDim !== p.axis[0]) throw new Error(`ONNX export: gather ${JSON.stringify(p)} is not supported`);
        r = g.node("Gather", ins, { axis: p.axis[0] });
        break;
      }
      default:
        throw new Error(`ONNX export: primitive '${e.primitive}' is not supported`);
    }
    g.bind(out, r);
  }
}

/**
 * dot(x, y) = sum(x * y, axis=-1) with broadcasting. jax-js writes a matmul as
 * x [..., M, 1, K] . y [..., 1, N, K], which becomes MatMul(x[..., M, K],
 * y[..., N, K]^T); anything else is a multiply and a sum.
 */
function emitDot(g: GraphBuilder, e: Eqn, ins: string[]): string {
  const xs = e.inputs[0].aval.shape;
  const ys = e.inputs[1].aval.shape;
  const nd = Math.max(xs.length, ys.length);
  const ax = [...Array(nd - xs.length).fill(1), ...xs];
  const ay = [...Array(nd - ys.length).fill(1), ...ys];
  if (nd >= 3 && ax[nd - 2] === 1 && ay[nd - 3] === 1) {
    const a = g.node("Reshape", [ins[0], g.ints([...ax.slice(0, nd - 2), ax[nd - 1]])]);
    const bt = g.node("Reshape", [ins[1], g.ints([...ay.slice(0, nd - 3), ay[nd - 2], ay[nd - 1]])]);
    const permB = [...Array(nd - 3).keys(), nd - 2, nd - 3];
    const b = g.node("Transpose", [bt], { perm: permB });
    return g.node("MatMul", [a, b]);
  }
  return g.node("ReduceSum", [g.node("Mul", ins), g.ints([-1])], { keepdims: 0 });
}

/**
 * Traces fn(...args) and returns an ONNX model. Inputs keep the shapes and
 * dtypes of the example values; outputs are named by `outputs` in order.
 */
export function exportOnnx(name: string, fn: (...a: any[]) => any, args: ExportArg[], outputs: string[]): Uint8Array {
  const { jaxpr: closed } = makeJaxpr(fn)(...args.map((a) => tree.ref(a.value as any))) as unknown as { jaxpr: { jaxpr: Jaxpr; consts: JArray[] } };
  const jp = closed.jaxpr;
  const g = new GraphBuilder();
  const graph: OnnxGraph = { name, nodes: g.nodes, initializers: g.initializers, inputs: [], outputs: [] };
  const nConsts = closed.consts.length;
  const constValues: ConstValues = new Map();
  closed.consts.forEach((c, i) => {
    const b = jp.inBinders[i];
    const n = `const${i}`;
    const values = c.ref.dataSync() as ArrayLike<number>;
    if (values.length <= 4096) constValues.set(b, values);
    g.initializers.push({ name: n, dtype: onnxType(b.aval.dtype), dims: b.aval.shape, raw: rawOf(b.aval.dtype, values) });
    g.bind(b, n);
  });
  let k = nConsts;
  for (const a of args) {
    const leaves = tree.leaves(a.value as any) as JArray[];
    leaves.forEach((leaf, i) => {
      const b = jp.inBinders[k++];
      const n = leaves.length === 1 ? a.name : `${a.name}.${i}`;
      if (a.kind === "input") graph.inputs.push({ name: n, dtype: onnxType(b.aval.dtype), dims: b.aval.shape });
      else g.initializers.push({ name: n, dtype: onnxType(b.aval.dtype), dims: b.aval.shape, raw: rawOf(b.aval.dtype, leaf.ref.dataSync() as ArrayLike<number>) });
      g.bind(b, n);
    });
  }
  emit(g, jp, constValues);
  if (jp.outs.length !== outputs.length) throw new Error(`ONNX export: ${jp.outs.length} outputs, ${outputs.length} names`);
  jp.outs.forEach((o, i) => {
    g.node("Identity", [g.name(o)], undefined, outputs[i]);
    graph.outputs.push({ name: outputs[i], dtype: onnxType(o.aval.dtype), dims: o.aval.shape });
  });
  // Weights the traced function never reads (e.g. the decoder's, in the encoder graph) stay out of the file.
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  graph.initializers = g.initializers.filter((t) => used.has(t.name));
  return encodeModel(graph, OPSET);
}
