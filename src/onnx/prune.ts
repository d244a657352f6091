/** Dead-node removal: a traced function computes values nobody reads (a forward value only its discarded tangent used, a broadcast a MatMul now skips). */
import type { OnnxNode } from "./proto.js";

/** The nodes that some graph output depends on, in their order (nodes must be in topological order). */
export function liveNodes(nodes: OnnxNode[], outputs: string[]): OnnxNode[] {
  const needed = new Set(outputs);
  const live = new Array<boolean>(nodes.length).fill(false);
  for (let i = nodes.length - 1; i >= 0; i--) {
    if (!nodes[i].outputs.some((o) => needed.has(o))) continue;
    live[i] = true;
    for (const x of nodes[i].inputs) needed.add(x);
  }
  return nodes.filter((_, i) => live[i]);
}
