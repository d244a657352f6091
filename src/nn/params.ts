/**
 * Parameters are plain nested objects (pytrees) of jax-js arrays. These helpers
 * name their leaves with dotted paths ("enc.blocks.0.attn.wq"), which is how
 * weights and checkpoints are stored.
 */
import { Array as JaxArray } from "@jax-js/jax";
import { np, type JArray } from "./runtime.js";

export type Params = { [key: string]: JArray | Params | Params[] | JArray[] };

/** instanceof, not a look at `.ref`: that getter takes a reference (and leaked every array it touched). */
function isArray(x: unknown): x is JArray {
  return x instanceof JaxArray;
}

/** Leaves in a fixed order (object insertion order, arrays by index) with their dotted names. */
export function namedLeaves(p: unknown, prefix = ""): [string, JArray][] {
  if (isArray(p)) return [[prefix, p]];
  const out: [string, JArray][] = [];
  if (Array.isArray(p)) p.forEach((v, i) => out.push(...namedLeaves(v, prefix ? `${prefix}.${i}` : `${i}`)));
  else if (p && typeof p === "object")
    for (const [k, v] of Object.entries(p)) out.push(...namedLeaves(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

export function countParams(p: unknown): number {
  return namedLeaves(p).reduce((n, [, a]) => n + a.shape.reduce((x, y) => x * y, 1), 0);
}

/** Copies every leaf to host memory (does not consume the tree). */
export function toHost(p: unknown): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, a] of namedLeaves(p)) out.set(name, { shape: a.shape.slice(), data: a.ref.dataSync() as Float32Array });
  return out;
}

/** Rebuilds a tree shaped like `like` from host tensors, checking names and shapes. */
export function fromHost<T>(like: T, tensors: Map<string, { shape: number[]; data: ArrayLike<number> }>, source: string, prefix = ""): T {
  const build = (node: unknown, path: string): unknown => {
    if (isArray(node)) {
      const t = tensors.get(prefix + path);
      if (!t) throw new ParamError(`${source}: missing tensor '${prefix + path}'`);
      if (t.shape.length !== node.shape.length || t.shape.some((d, i) => d !== node.shape[i]))
        throw new ParamError(`${source}: tensor '${prefix + path}' has shape [${t.shape}], expected [${node.shape}]`);
      return np.array(t.data instanceof Float32Array ? t.data : Float32Array.from(t.data)).reshape(t.shape);
    }
    if (Array.isArray(node)) return node.map((v, i) => build(v, path ? `${path}.${i}` : `${i}`));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node as object)) out[k] = build(v, path ? `${path}.${k}` : k);
    return out;
  };
  const expected = new Set(namedLeaves(like).map(([n]) => prefix + n));
  for (const name of tensors.keys())
    if (name.startsWith(prefix) && !expected.has(name)) throw new ParamError(`${source}: unexpected tensor '${name}'`);
  return build(like, "") as T;
}

export class ParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ParamError";
  }
}
