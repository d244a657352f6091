/**
 * The index analysis behind the strided-load, matmul-offset and lane-uniform
 * patches to jax-js (scripts/jax-js-patches/lane-stride.js), checked against
 * brute force: random index expressions with wasm's truncating division, every
 * claim the analysis makes verified at every aligned position of a range.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Rng } from "../src/nn/rng.js";

interface Node {
  op: string;
  src: Node[];
  arg: unknown;
  dtype: string;
  min: number;
  max: number;
  collect(pred: (n: Node) => boolean): Node[];
}
interface Lanes {
  step: number;
  modulus: number;
  residue: number;
  slack: number;
}

// The patch file's functions, with the few backend helpers it uses written for these nodes
// (gcd as the backend's own).
const analysis = new Function(
  "isSymbol",
  "constInt",
  "referencesGidx",
  "gcd",
  `${readFileSync(new URL("../scripts/jax-js-patches/lane-stride.js", import.meta.url), "utf8")}
   return { flowmacLaneStride, flowmacIsLaneUniform };`,
)(
  (e: Node, name: string) => e.op === "Special" && (e.arg as [string])[0] === name,
  (e: Node) => (e.op === "Const" && Number.isInteger(e.arg) ? (e.arg as number) : null),
  function refs(e: Node): boolean {
    return (e.op === "Special" && (e.arg as [string])[0] === "gidx") || e.src.some(refs);
  },
  (...values: number[]) => {
    let a = 0;
    for (let b of values) while (b !== 0) [a, b] = [b, a % b];
    return Math.abs(a);
  },
) as { flowmacLaneStride: (e: Node, lanes?: number, gidx?: Lanes) => Lanes | null; flowmacIsLaneUniform: (e: Node) => boolean };

const G = 1920; // the range of gidx checked (a multiple of the lane and row blocks below)

const values = new WeakMap<Node, Float64Array>();

/** The node's value at gidx = g (precomputed over the range). */
function evaluate(e: Node, g: number): number {
  return values.get(e)![g];
}

function compute(e: Node, g: number): number {
  const [a, b] = e.src.map((s) => evaluate(s, g));
  switch (e.op) {
    case "Special": return g;
    case "Const": return e.arg as number;
    case "Add": return a + b;
    case "Sub": return a - b;
    case "Mul": return a * b;
    case "Idiv": return Math.trunc(a / b); // wasm i32.div_s
    case "Mod": return a % b; // wasm i32.rem_s (truncating)
    case "Cmplt": return a < b ? 1 : 0;
    case "Cmpne": return a !== b ? 1 : 0;
  }
  throw new Error(e.op);
}

function node(op: string, src: Node[], arg: unknown = null, dtype = "int32"): Node {
  const n: Node = {
    op, src, arg, dtype, min: 0, max: 0,
    collect(pred) {
      return [...(pred(n) ? [n] : []), ...src.flatMap((s) => s.collect(pred))];
    },
  };
  // Exact bounds over the range, as tight as the backend's could be.
  const v = Float64Array.from({ length: G }, (_, g) => compute(n, g));
  values.set(n, v);
  n.min = Math.min(...v);
  n.max = Math.max(...v);
  return n;
}

const CONSTS = [1, 2, 3, 4, 5, 8, 12, 16, 17, 32, 48, 80, 96, 100, 128, 240];

function randomIndex(rng: Rng, depth: number): Node {
  const pick = <T,>(xs: T[]) => xs[Math.floor(rng.uniform() * xs.length)];
  if (depth === 0 || rng.uniform() < 0.2) return rng.uniform() < 0.8 ? node("Special", [], ["gidx"]) : node("Const", [], pick([0, 3, 16, -16, -32]));
  const a = randomIndex(rng, depth - 1);
  switch (pick(["Add", "Sub", "Mul", "Idiv", "Mod", "Mod", "Idiv"])) {
    case "Add": return node("Add", [a, rng.uniform() < 0.5 ? randomIndex(rng, depth - 1) : node("Const", [], pick([-32, -16, -3, 5, 16]))]);
    case "Sub": return node("Sub", [a, rng.uniform() < 0.5 ? randomIndex(rng, depth - 1) : node("Const", [], pick([16, 3, 48]))]);
    case "Mul": return node("Mul", [a, node("Const", [], pick([...CONSTS, -1, -2]))]);
    case "Idiv": return node("Idiv", [a, node("Const", [], pick(CONSTS))]);
    default: return node("Mod", [a, node("Const", [], pick(CONSTS))]);
  }
}

/** Checks a claim about lanes l < `lanes` at gidx = base + l*step0, for each base. */
function checkClaim(e: Node, claim: Lanes, bases: number[], lanes: number, step0: number): string | null {
  for (const base of bases) {
    const v0 = evaluate(e, base);
    for (let l = 1; l < lanes; l++) {
      const v = evaluate(e, base + l * step0);
      if (v !== v0 + claim.step * l) return `lane ${l} at ${base}: ${v}, claimed ${v0} + ${claim.step}*${l}`;
    }
    const off = claim.modulus === 0 ? v0 - claim.residue : (((v0 - claim.residue) % claim.modulus) + claim.modulus) % claim.modulus;
    if (claim.modulus === 0 && (off < 0 || off > claim.slack)) return `value ${v0} at ${base} outside ${claim.residue} + [0, ${claim.slack}]`;
    if (claim.modulus > 0 && off > claim.slack) {
      // value = modulus*k + residue + e: some e in [0, slack] must fit.
      let fits = false;
      for (let e2 = off; e2 <= claim.slack && !fits; e2 += claim.modulus) fits = true;
      if (!fits) return `value ${v0} at ${base} not ${claim.modulus}k + ${claim.residue} + [0, ${claim.slack}]`;
    }
  }
  return null;
}

describe("lane-stride analysis (jax-js patches 7-9)", () => {
  const rng = new Rng(21);
  const expressions = Array.from({ length: 1500 }, () => randomIndex(rng, 4));

  it("its lane steps hold at every 4-aligned position, for random truncating index arithmetic", () => {
    let proved = 0;
    for (const e of expressions) {
      const claim = analysis.flowmacLaneStride(e);
      if (!claim) continue;
      proved++;
      const bases = Array.from({ length: G / 4 }, (_, i) => 4 * i);
      expect(checkClaim(e, claim, bases, 4, 1), String(JSON.stringify(claim))).toBeNull();
    }
    expect(proved).toBeGreaterThan(300); // the analysis proves a good share, not just trivial cases
  });

  it("its row steps (matmul tiles: gidx = A*u + r*T + c) hold for every row and column offset", () => {
    for (const [R, T] of [[4, 16], [4, 48], [2, 80]]) {
      const model = { step: T, modulus: R * T, residue: 0, slack: T - 1 };
      for (const e of expressions.slice(0, 500)) {
        const claim = analysis.flowmacLaneStride(e, R, model);
        if (!claim) continue;
        const bases: number[] = [];
        for (let u = 0; (u + 1) * R * T <= G; u++) for (let c = 0; c < T; c++) bases.push(u * R * T + c);
        expect(checkClaim(e, claim, bases, R, T), `R ${R}, T ${T}: ${JSON.stringify(claim)}`).toBeNull();
      }
    }
  });

  it("a mask it calls lane-uniform has one value across every 4 aligned lanes", () => {
    let uniform = 0;
    for (const [i, e] of expressions.entries()) {
      const c = node("Const", [], [0, 1, 4, 16, 17, 32, 100][i % 7]);
      const masks = [node("Cmplt", [e, c], null, "bool"), node("Cmplt", [c, e], null, "bool")];
      masks.push(node("Cmpne", [masks[0], node("Const", [], 1, "bool")], null, "bool"));
      for (const m of masks) {
        if (!analysis.flowmacIsLaneUniform(m)) continue;
        uniform++;
        const split: string[] = [];
        for (let g = 0; g < G; g += 4) for (let l = 1; l < 4; l++) if (evaluate(m, g + l) !== evaluate(m, g)) split.push(`${m.op} at ${g}+${l}`);
        expect(split).toEqual([]);
      }
    }
    expect(uniform).toBeGreaterThan(500);
  });
});
