/**
 * A minimal protobuf writer for the subset of onnx.proto an exported model
 * needs (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
 * ValueInfoProto). Field numbers follow onnx/onnx.proto (IR version 8).
 */

import { concatBytes } from "../util/bytes.js";

class Writer {
  private chunks: number[] = [];
  private parts: Uint8Array[] = [];

  private flush() {
    if (this.chunks.length) {
      this.parts.push(Uint8Array.from(this.chunks));
      this.chunks = [];
    }
  }

  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.chunks.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.chunks.push(Number(x));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v);
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.flush();
    this.parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5);
    this.flush();
    this.parts.push(b);
    return this;
  }

  message(field: number, m: Writer): this {
    return this.bytes(field, m.finish());
  }

  finish(): Uint8Array {
    this.flush();
    return concatBytes(this.parts);
  }
}

/** ONNX TensorProto.DataType values used here. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, BOOL: 9 } as const;
export type OnnxDType = (typeof DT)[keyof typeof DT];

export interface OnnxTensor {
  name: string;
  dtype: OnnxDType;
  dims: number[];
  /** Little-endian raw bytes of the values. */
  raw: Uint8Array;
}

export type AttrValue = number | number[] | string | { floats: number[] } | { float: number };

export interface OnnxNode {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  domain?: string;
}

export interface OnnxValueInfo {
  name: string;
  dtype: OnnxDType;
  dims: number[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

function tensorProto(t: OnnxTensor): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d); // dims
  w.int(2, t.dtype); // data_type
  w.string(8, t.name); // name
  w.bytes(9, t.raw); // raw_data
  return w;
}

function valueInfo(v: OnnxValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.dims) shape.message(1, new Writer().int(1, d)); // TensorShapeProto.dim { dim_value }
  const tensorType = new Writer().int(1, v.dtype).message(2, shape); // TypeProto.Tensor
  const type = new Writer().message(1, tensorType); // TypeProto { tensor_type }
  return new Writer().string(1, v.name).message(2, type);
}

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer().string(1, name);
  // AttributeProto.AttributeType: FLOAT 1, INT 2, STRING 3, FLOATS 6, INTS 7
  if (typeof v === "number") return w.int(3, v).int(20, 2);
  if (typeof v === "string") return w.bytes(4, new TextEncoder().encode(v)).int(20, 3);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7);
  }
  if ("float" in v) return w.float(2, v.float).int(20, 1);
  for (const x of v.floats) w.float(7, x);
  return w.int(20, 6);
}

function nodeProto(n: OnnxNode, i: number): Writer {
  const w = new Writer();
  for (const x of n.inputs) w.string(1, x);
  for (const x of n.outputs) w.string(2, x);
  w.string(3, `${n.op}_${i}`);
  w.string(4, n.op);
  if (n.domain) w.string(7, n.domain);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, attribute(k, v));
  return w;
}

export function encodeModel(g: OnnxGraph, opset: number, producer = "flowmac"): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => graph.message(1, nodeProto(n, i)));
  graph.string(2, g.name);
  for (const t of g.initializers) graph.message(5, tensorProto(t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  const model = new Writer();
  model.int(1, 8); // ir_version
  model.string(2, producer);
  model.string(3, "0.1");
  model.message(7, graph);
  model.message(8, new Writer().string(1, "").int(2, opset)); // opset_import
  return model.finish();
}
