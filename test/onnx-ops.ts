/** The op types of an ONNX model's nodes, read from its protobuf (ModelProto.graph.node.op_type), for tests of the exporter's output. */

type Field = { field: number; start: number; end: number };

/** The length-delimited fields of a protobuf message in b[start, end) (other wire types are skipped). */
function fields(b: Uint8Array, start: number, end: number): Field[] {
  const out: Field[] = [];
  let i = start;
  const varint = () => {
    let x = 0;
    let mul = 1;
    for (;;) {
      const c = b[i++];
      x += (c & 0x7f) * mul;
      mul *= 128;
      if (c < 0x80) return x;
    }
  };
  while (i < end) {
    const tag = varint();
    const wire = tag % 8;
    if (wire === 0) varint();
    else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else if (wire === 2) {
      const n = varint();
      out.push({ field: Math.floor(tag / 8), start: i, end: i + n });
      i += n;
    } else throw new Error(`protobuf wire type ${wire}`);
  }
  return out;
}

export function onnxOps(bytes: Uint8Array): string[] {
  const ops: string[] = [];
  for (const g of fields(bytes, 0, bytes.length).filter((f) => f.field === 7))
    for (const n of fields(bytes, g.start, g.end).filter((f) => f.field === 1))
      for (const t of fields(bytes, n.start, n.end).filter((f) => f.field === 4)) ops.push(new TextDecoder().decode(bytes.subarray(t.start, t.end)));
  return ops;
}

export function countOps(bytes: Uint8Array, op: string): number {
  return onnxOps(bytes).filter((o) => o === op).length;
}
