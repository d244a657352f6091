/** The ONNX graph under construction while a jaxpr is translated: nodes, initializers and the jaxpr atoms' tensor names. */
import { DT, type AttrValue, type OnnxDType, type OnnxNode, type OnnxTensor } from "./proto.js";

export interface Aval {
  shape: number[];
  dtype: string;
}
export interface Atom {
  aval: Aval;
  value?: number | boolean;
  id?: number;
}
export interface Eqn {
  primitive: string;
  inputs: Atom[];
  outBinders: Atom[];
  params: Record<string, any>;
}
export interface Jaxpr {
  inBinders: Atom[];
  eqns: Eqn[];
  outs: Atom[];
}

export function onnxType(dtype: string): OnnxDType {
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

export function rawOf(dtype: string, data: ArrayLike<number | boolean>): Uint8Array {
  if (dtype === "float32") return new Uint8Array(Float32Array.from(data as ArrayLike<number>).buffer);
  if (dtype === "int32") return new Uint8Array(Int32Array.from(data as ArrayLike<number>).buffer);
  if (dtype === "bool") return Uint8Array.from(data as ArrayLike<number>, (v) => (v ? 1 : 0));
  throw new Error(`ONNX export: dtype ${dtype} is not supported`);
}

const int64 = (values: number[]) => new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);

export class GraphBuilder {
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

  /** A node with `count` outputs (Split). */
  nodeOuts(op: string, inputs: string[], count: number, attrs?: Record<string, AttrValue>): string[] {
    const outs = Array.from({ length: count }, () => this.fresh());
    this.nodes.push({ op, inputs, outputs: outs, attrs });
    return outs;
  }
}
