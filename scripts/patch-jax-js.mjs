#!/usr/bin/env node
/**
 * Performance patch for @jax-js/jax 0.1.25 (pinned), applied after install.
 *
 * jax-js's jit reuses an already materialised transpose of a matmul operand
 * through a strided view. In a backward pass that makes the contraction axis
 * of the weight operand non-contiguous, and the wasm backend then runs the
 * matmul on its scalar gather path: measured here 4-5 s instead of ~0.1 s for
 * a [256,2048]x[2048,1025] product, i.e. most of a training step. The patch
 * materialises such a transposed (never broadcast) view into a contiguous
 * buffer before the dot, an O(size) copy. Likewise an element-wise expression
 * feeding a dot (a cotangent like 2*y) is computed once into a buffer instead
 * of being fused into the matmul's loads, which also forces the slow path.
 * Numerics are unchanged.
 *
 * Idempotent; fails loudly if the pinned version's code is not found.
 */
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Where Node would find @jax-js/jax from this package: our own node_modules in a
// checkout, the consumer's (hoisted) node_modules when flowmac is a dependency.
function findJaxJs(start) {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules/@jax-js/jax");
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}
const jaxDir = findJaxJs(join(dirname(fileURLToPath(import.meta.url)), ".."));
const MARK = "/* flowmac-patch: contiguous dot operands */";
const ORIGINAL =
  "for (const [i, input] of eqn.inputs.entries()) if (input instanceof Var && reductionInputHasReuse(inputShapes[i], promoted)) markNonViewProducer(input);";
const PATCHED = `${MARK} for (const [i, input] of eqn.inputs.entries()) { if (!(input instanceof Var)) continue; const target = eqn.primitive === "dot" ? flowmacDotOperand(input) : null; if (target) materializedProducers.add(target); else if (eqn.primitive === "dot" || reductionInputHasReuse(inputShapes[i], promoted)) markNonViewProducer(input); }`;
// Walks the view chain under a dot operand. The dot's own layout is a
// broadcast (and transposes above it) of some var; if a transpose or a pad
// sits below that broadcast, the var is a strided or padded view, so it is
// returned to be copied into a plain contiguous buffer (an O(size) copy).
const HELPER = `${MARK} const flowmacDotOperand = (v) => { let current = v; let candidate = v; let messy = false; while (true) { const defn = varToDefn.get(current); if (defn === void 0) break; const e = jaxpr.eqns[defn]; if (!viewPrimitives.includes(e.primitive)) break; const inp = e.inputs.find((x) => x instanceof Var); if (!inp) break; if (e.primitive === "broadcast") { candidate = inp; messy = false; } else if (e.primitive === "transpose" || e.primitive === "pad") messy = true; current = inp; } return messy ? candidate : null; };`;
const ANCHOR = "const materializedProducers = /* @__PURE__ */ new Set();";
// The weight gradient of a matmul contracts over the batch rows. jax-js builds
// that dot from a transposed broadcast of the cotangent, whose contraction
// axis is strided and cannot be copied out (it is a broadcast). Transposing
// the cotangent before broadcasting it gives the same values, and lets the
// rule above copy the transposed cotangent into a contiguous buffer.
const DOT_T_ORIGINAL = "return dot$2(transpose$1(broadcast(ct, broadcastShape, [-1]), perm).reshape(";
const DOT_T_PATCHED = `${MARK} const flowmacP = perm.indexOf(ndim - 1); const flowmacCt = broadcast(transpose$1(ct, perm.filter((a) => a !== ndim - 1)), perm.map((a) => broadcastShape[a]), [flowmacP]); return dot$2(flowmacCt.reshape(`;

let patched = 0;
for (const file of ["index.js", "index.cjs"]) {
  if (!jaxDir) break;
  const path = join(jaxDir, "dist", file);
  if (!existsSync(path)) continue;
  let src = readFileSync(path, "utf8");
  if (src.includes(MARK)) {
    patched++;
    continue;
  }
  if (!src.includes(ORIGINAL) || !src.includes(ANCHOR) || !src.includes(DOT_T_ORIGINAL)) {
    console.error(`patch-jax-js: ${file} does not contain the expected code (is @jax-js/jax still pinned to 0.1.25?)`);
    process.exit(1);
  }
  // Replacer functions: the patched code contains "$1"-like names that string replacements would interpret.
  src = src.replace(ANCHOR, () => `${ANCHOR}\n\t${HELPER}`).replace(ORIGINAL, () => PATCHED).replace(DOT_T_ORIGINAL, () => DOT_T_PATCHED);
  writeFileSync(path, src);
  patched++;
}
if (patched === 0) {
  console.error("patch-jax-js: @jax-js/jax is not installed");
  process.exit(1);
}
