/**
 * Common-subexpression elimination on an ONNX graph: a node that computes what
 * an earlier node computed (same op, same inputs, same attributes) is dropped
 * and its readers read the earlier node. Backward passes recompute values:
 * jax-js's derivative of x*x is g*x + x*g, and the same tangent often feeds
 * several products.
 */
import type { OnnxNode } from "./proto.js";

const COMMUTATIVE = new Set(["Add", "Mul", "Min", "Max", "Equal"]);

/** The nodes without duplicates (in topological order; nodes writing a graph output are kept). */
export function mergeDuplicateNodes(nodes: OnnxNode[], graphOutputs: string[]): OnnxNode[] {
  const outputs = new Set(graphOutputs);
  const alias = new Map<string, string>();
  const first = new Map<string, OnnxNode>();
  const kept: OnnxNode[] = [];
  for (const n of nodes) {
    const inputs = n.inputs.map((x) => alias.get(x) ?? x);
    const node = { ...n, inputs };
    const operands = COMMUTATIVE.has(n.op) ? inputs.slice().sort() : inputs;
    const key = `${n.domain ?? ""}|${n.op}|${operands.join(",")}|${n.outputs.length}|${JSON.stringify(n.attrs ?? {})}`;
    const earlier = first.get(key);
    if (earlier && !n.outputs.some((o) => outputs.has(o))) {
      n.outputs.forEach((o, i) => alias.set(o, earlier.outputs[i]));
      continue;
    }
    if (!earlier) first.set(key, node);
    kept.push(node);
  }
  return kept;
}
