/**
 * Exports a jax-js function to ONNX by tracing it (makeJaxpr) and translating
 * each primitive of the jaxpr to ONNX operators (opset 18). The model code is
 * written once, in jax-js; this file only knows primitives. Traces are
 * shape-specialised, so each export is for fixed input shapes (the inference
 * pipeline runs fixed-size blocks).
 */
import { makeJaxpr, tree, type JArray } from "../nn/runtime.js";
import { FUSED_ARGMIN, FUSED_GELU, FUSED_LAYER_NORM, FUSED_SOFTMAX, FUSED_SUB, fuseOps, type ConstValues } from "./fuse.js";
import { DotLowering } from "./dot.js";
import { GraphBuilder, onnxType, rawOf, type Atom, type Eqn, type Jaxpr } from "./graph-builder.js";
import { mergeDuplicateNodes } from "./cse.js";
import { liveNodes } from "./prune.js";
import { encodeModel, type OnnxGraph } from "./proto.js";

/**
 * Version of the translation: bumped whenever a change here or in fuse.ts or
 * dot.ts changes the graphs exported for the same jaxpr (cached training-step
 * graphs are keyed by it).
 */
export const EXPORTER_VERSION = 6;

/** 20 for its Gelu operator (the ops used otherwise mean the same as in opset 18). */
export const OPSET = 20;

export interface ExportArg {
  name: string;
  value: unknown;
  /** "input": a graph input (fed at run time); "weight": stored in the file. */
  kind: "input" | "weight";
}

const UNARY: Record<string, string> = {
  neg: "Neg", reciprocal: "Reciprocal", exp: "Exp", log: "Log", sin: "Sin", cos: "Cos", sqrt: "Sqrt",
  erf: "Erf", floor: "Floor", ceil: "Ceil", stop_gradient: "Identity",
};
const BINARY: Record<string, string> = { add: "Add", mul: "Mul", min: "Min", max: "Max" };
const REDUCE: Record<string, string> = { Add: "ReduceSum", Max: "ReduceMax", Min: "ReduceMin", Mul: "ReduceProd" };
/** Primitives whose ONNX ops broadcast their operands themselves. */
const ELEMENTWISE = new Set(["add", "mul", "min", "max", "compare", "where", FUSED_SUB]);
const COMPARE: Record<string, string> = { less: "Less", greater: "Greater", equal: "Equal", less_equal: "LessOrEqual", greater_equal: "GreaterOrEqual" };

function emit(g: GraphBuilder, jp: Jaxpr, consts: ConstValues = new Map()): void {
  const producers = new Map<Atom, Eqn>();
  const dots = new DotLowering(g, producers);
  for (const e of fuseOps(jp.eqns, jp.outs, consts) as Eqn[]) {
    for (const o of e.outBinders) producers.set(o, e);
    let ins = e.inputs.map((a) => g.name(a));
    const out = e.outBinders[0];
    const p = e.params;
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
    if (e.primitive === "split") {
      // Backward passes split a gradient where the forward pass concatenated.
      const parts = g.nodeOuts("Split", [ins[0], g.ints(p.sizes)], e.outBinders.length, { axis: p.axis });
      e.outBinders.forEach((o, i) => g.bind(o, parts[i]));
      continue;
    }
    if (ELEMENTWISE.has(e.primitive) || e.primitive in UNARY || e.primitive === "erfc" || e.primitive === "cast") {
      // On values repeated along some axes: computed once (an Expand follows, if anything reads the full value).
      const once = dots.elementwiseOnRepeated(e, ins, (xs) => lower(g, e, xs, dots));
      if (once) {
        g.bind(out, once);
        continue;
      }
      if (ELEMENTWISE.has(e.primitive)) ins = dots.elementwiseInputs(e, ins);
    }
    g.bind(out, lower(g, e, ins, dots));
  }
}

/** The ONNX nodes of one (single-output) eqn; returns the output's name. */
function lower(g: GraphBuilder, e: Eqn, ins: string[], dots: DotLowering): string {
  const out = e.outBinders[0];
  const p = e.params;
  // One ONNX op each, by the tables above.
  if (e.primitive in BINARY) return g.node(BINARY[e.primitive], ins);
  if (e.primitive in UNARY) return g.node(UNARY[e.primitive], ins);
  let r: string;
  switch (e.primitive) {
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
      r = dots.dot(e, ins);
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
      // Only new size-1 axes (a reshape, as backward passes write it): no copy.
      const grows = p.shape.some((n: number, i: number) => n > 1 && (p.axis.includes(i) || e.inputs[0].aval.shape[i - p.axis.filter((a: number) => a < i).length] === 1));
      r = grows ? g.node("Expand", [x, g.ints(p.shape)]) : x;
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
  return r;
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
  const outputNames = graph.outputs.map((o) => o.name);
  graph.nodes = liveNodes(mergeDuplicateNodes(g.nodes, outputNames), outputNames);
  // Weights the traced function never reads (e.g. the decoder's, in the encoder graph) stay out of the file.
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  graph.initializers = g.initializers.filter((t) => used.has(t.name));
  return encodeModel(graph, OPSET);
}
