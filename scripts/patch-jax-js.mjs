#!/usr/bin/env node
/**
 * Performance patches for @jax-js/jax 0.1.25 (pinned), applied after install.
 * Each patch is a set of anchored text edits to one part of jax-js's dist
 * bundle; a patch whose anchors are not found fails loudly, so a version bump
 * cannot silently skip one. Idempotent: a file carrying a patch's mark is left
 * alone. Numerics are unchanged by every patch (tests compare bit for bit).
 *
 * 1. jit (index.js / index.cjs): contiguous dot operands. jax-js's jit reuses
 *    an already materialised transpose of a matmul operand through a strided
 *    view. In a backward pass that makes the contraction axis of the weight
 *    operand non-contiguous, and the wasm backend then runs the matmul on its
 *    scalar gather path: measured 4-5 s instead of ~0.1 s for a
 *    [256,2048]x[2048,1025] product. Such a transposed (never broadcast) view
 *    is materialised into a contiguous buffer before the dot, an O(size) copy;
 *    likewise an element-wise expression feeding a dot is computed once into a
 *    buffer instead of being fused into the matmul's loads.
 * 2. wasm backend (backend-*.js / .cjs): SIMD exp, log, erf and reciprocal
 *    (jax-js-patches/simd-math.js). The backend vectorises a kernel only if
 *    every op in it has a SIMD form; these four had none, so softmax, GELU,
 *    layer-norm backward and the losses ran one element at a time. The vector
 *    code is written inline into each kernel (V8 does not inline wasm calls):
 *    GELU's erf kernel 2.48 -> 2.04 ms, softmax's exp 1.48 -> 1.37.
 * 3. wasm backend: matmul micro-tile. Every matmul here runs on the backend's
 *    k-vectorised path (both operands contiguous along the contraction). Its
 *    4x4 micro-tile, unrolled 4x along k, keeps 16 v128 accumulators plus the
 *    loaded operands live; V8 has 16 xmm registers on x86-64, so they spill.
 *    4 rows x 2 columns, not unrolled, (8 accumulators) measured 29-33 GFLOP/s
 *    against 21-23 at the training step's shapes (kernels timed in isolation,
 *    interleaved in one process); the same tile as the best hand-written
 *    wasm-SIMD GEMM we measured. The summation order per output is unchanged.
 * 4. wasm backend: shared matmul pointers (jax-js-patches/row-invariant.js).
 *    In batched matmuls (attention) the k-vectorised loop recomputed the
 *    right-hand operand's address for every row of a micro-tile, with several
 *    divisions each, and loaded the same data once per row.
 * 5. wasm backend: SIMD max reductions. The k-vectorised reduction loop (4
 *    lanes along a contiguous reduced axis, then across the lanes) took only
 *    sums, so a row max (softmax) ran one element at a time. Max is exact in
 *    any order, so the 4-lane version gives the same values.
 * 6. wasm backend: one instance per kernel. Every synchronous dispatch built a
 *    new WebAssembly.Instance of the kernel's module (~25 us; a codec training
 *    step dispatches ~3000 kernels). Kernels keep no state besides the shared
 *    memory they import, so one instance per compiled program and memory is
 *    reused.
 * 7. wasm backend: strided lane loads (jax-js-patches/lane-stride.js). An
 *    element-wise kernel reading a transposed view (the copies patch 1 makes,
 *    attention's swapped axes) recomputed the input's index, with its
 *    divisions, for every lane, and walked down the input's columns. Where the
 *    index provably steps by a constant from lane to lane, it is computed once
 *    per 4 lanes (or once per 16-element block, in a column-tiled loop that
 *    keeps the input's cache lines in use): transposing copies of [1024,128]
 *    0.64-0.74 -> 0.36-0.44 ms, of [8,4,128,128] 3.0-3.6 -> 1.2-1.5 ms.
 * 8. wasm backend: matmul pointer offsets (jax-js-patches/tile-offsets.js).
 *    The k-vectorised loop kept and advanced one pointer per row and column
 *    of its micro-tile; where the address steps by a constant per row and per
 *    column, one pointer and constant load offsets serve the tile (4 fewer
 *    additions per step): 5-7% faster matmuls at the training step's shapes.
 * 9. wasm backend: lane-uniform masks (lane-stride.js). The masks of a
 *    concatenation or a zero-padded view ((gidx % 768) < 256, ...) need
 *    integer division, which has no SIMD form, so such kernels (conv1d's
 *    im2col, RoPE's halves) ran one element at a time. A mask that provably
 *    has one value across the 4 lanes is computed once as a scalar and
 *    splatted; padded inputs whose index steps by a constant are read as in
 *    patch 7, with jax-js's clamp of out-of-range lanes checked once per 4
 *    lanes, and an input element read by several masked branches is loaded
 *    once; masks that differ across lanes are computed lane by lane when a
 *    kernel has at most 3 of them. conv1d's im2col over [4,256,768]: 6.7 ->
 *    1.6 ms; the vocoder discriminators' im2col kernels 23-30 -> 7-17 ns per
 *    element.
 * 10. wasm backend: SIMD sin and cos (jax-js-patches/simd-sincos.js), as
 *    patch 2 for exp and log: Snake activations and the vocoder's phase ran
 *    one element at a time.
 */
import { readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// Where Node would find @jax-js/jax from this package: our own node_modules in a
// checkout, the consumer's (hoisted) node_modules when flowmac is a dependency.
function findJaxJs(start) {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules/@jax-js/jax");
    if (existsSync(join(candidate, "package.json"))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

// The wasm backend's bundle (an ESM and a CJS build), and an edit that inserts
// one of jax-js-patches/ at module level, where the backend's own helpers are in scope.
const backendFiles = (dist) => readdirSync(dist).filter((f) => /^backend-.*\.c?js$/.test(f));
const INJECT_ANCHOR = "//#region src/backend/wasm/featureProbe.ts";
const inject = (file) => [INJECT_ANCHOR, `${readFileSync(join(here, "jax-js-patches", file), "utf8")}\n${INJECT_ANCHOR}`];

// ---- patch 1: contiguous dot operands (jit) --------------------------------
const DOT_MARK = "/* flowmac-patch: contiguous dot operands */";
// Walks the view chain under a dot operand. The dot's own layout is a
// broadcast (and transposes above it) of some var; if a transpose or a pad
// sits below that broadcast, the var is a strided or padded view, so it is
// returned to be copied into a plain contiguous buffer (an O(size) copy).
const DOT_HELPER = `${DOT_MARK} const flowmacDotOperand = (v) => { let current = v; let candidate = v; let messy = false; while (true) { const defn = varToDefn.get(current); if (defn === void 0) break; const e = jaxpr.eqns[defn]; if (!viewPrimitives.includes(e.primitive)) break; const inp = e.inputs.find((x) => x instanceof Var); if (!inp) break; if (e.primitive === "broadcast") { candidate = inp; messy = false; } else if (e.primitive === "transpose" || e.primitive === "pad") messy = true; current = inp; } return messy ? candidate : null; };`;
const DOT_ANCHOR = "const materializedProducers = /* @__PURE__ */ new Set();";
const DOT_ORIGINAL =
  "for (const [i, input] of eqn.inputs.entries()) if (input instanceof Var && reductionInputHasReuse(inputShapes[i], promoted)) markNonViewProducer(input);";
const DOT_PATCHED = `${DOT_MARK} for (const [i, input] of eqn.inputs.entries()) { if (!(input instanceof Var)) continue; const target = eqn.primitive === "dot" ? flowmacDotOperand(input) : null; if (target) materializedProducers.add(target); else if (eqn.primitive === "dot" || reductionInputHasReuse(inputShapes[i], promoted)) markNonViewProducer(input); }`;
// The weight gradient of a matmul contracts over the batch rows. jax-js builds
// that dot from a transposed broadcast of the cotangent, whose contraction
// axis is strided and cannot be copied out (it is a broadcast). Transposing
// the cotangent before broadcasting it gives the same values, and lets the
// rule above copy the transposed cotangent into a contiguous buffer.
const DOT_T_ORIGINAL = "return dot$2(transpose$1(broadcast(ct, broadcastShape, [-1]), perm).reshape(";
const DOT_T_PATCHED = `${DOT_MARK} const flowmacP = perm.indexOf(ndim - 1); const flowmacCt = broadcast(transpose$1(ct, perm.filter((a) => a !== ndim - 1)), perm.map((a) => broadcastShape[a]), [flowmacP]); return dot$2(flowmacCt.reshape(`;

// ---- patch 2: SIMD math (wasm backend) -------------------------------------
const SIMD_MARK = "/* flowmac-patch: SIMD math */";
const SIMD_OPS_ANCHOR = `			cg.f32x4.sqrt();
		} else if (op === "Floor") {`;
const SIMD_OPS = `			cg.f32x4.sqrt();
		} ${SIMD_MARK} else if (op === "Exp") {
			gen(src[0]);
			flowmacEmitExpSimd(cg);
		} else if (op === "Log") {
			gen(src[0]);
			flowmacEmitLogSimd(cg);
		} else if (op === "Erf") {
			gen(src[0]);
			flowmacEmitErfSimd(cg);
		} else if (op === "Reciprocal") {
			cg.f32.const(1);
			cg.f32x4.splat();
			gen(src[0]);
			cg.f32x4.div();
		} else if (op === "Floor") {`;
const SIMD_SET_ANCHOR = `simdSupportedOps.set("uint32", simdSupportedOps.get("int32"));`;
const SIMD_SET = `${SIMD_SET_ANCHOR}
${SIMD_MARK} for (const op of ["Exp", "Log", "Erf", "Reciprocal"]) simdSupportedOps.get("float32").add(op);`;

// ---- patch 3: matmul micro-tile (wasm backend) ----------------------------
const TILE_MARK = "/* flowmac-patch: matmul micro-tile */";

// ---- patch 4: shared matmul pointers (wasm backend) ------------------------
const SHARE_MARK = "/* flowmac-patch: shared matmul pointers */";
const SHARE_KEY_ANCHOR = `function kReductionPointerShareKey(candidate, outputStride, tileSize, row, col, groupIndex) {
	const hash = candidate.exp.getHash().toString();
	if (outputStride.kind === "broadcast" && isFinite(outputStride.tileSize)) return \`\${hash}:row\${row}\`;
	if (repeatsAcrossGidxTile(candidate.baseIndex, tileSize)) return \`\${hash}:col\${col}\`;`;
const SHARE_KEY = `function kReductionPointerShareKey(candidate, outputStride, tileSize, row, col, groupIndex, microRows) {
	const hash = candidate.exp.getHash().toString();
	if (outputStride.kind === "broadcast" && isFinite(outputStride.tileSize)) return \`\${hash}:row\${row}\`;
	if (repeatsAcrossGidxTile(candidate.baseIndex, tileSize)) return \`\${hash}:col\${col}\`;
	${SHARE_MARK} if (microRows > 1 && flowmacRowInvariant(candidate.baseIndex, microRows * tileSize, tileSize)) return \`\${hash}:col\${col}\`;`;
const SHARE_CALL_ANCHOR = "kSimdTilePlan.tileSize, group.row, group.col, i)";
const SHARE_CALL = "kSimdTilePlan.tileSize, group.row, group.col, i, kSimdTilePlan.microRows)";

// ---- patch 5: SIMD max reductions (wasm backend) ---------------------------
const MAX_MARK = "/* flowmac-patch: SIMD max reduction */";
const MAX_ALLOW_ANCHOR = `	if (re.op !== "Add") return false;`;
const MAX_ALLOW = `	if (re.op !== "Add" && !(re.op === "Max" && exp.dtype === "float32")) return false; ${MAX_MARK}`;
const MAX_STEP_ANCHOR = "}, pointerMaps[i], pointerValueCache, vecAccs[i])) cg.f32x4.add();";
const MAX_STEP = "}, pointerMaps[i], pointerValueCache, vecAccs[i])) if (re.op === \"Max\") cg.f32x4.max(); else cg.f32x4.add();";
const MAX_LANES_ANCHOR = "\t\t\t\t\tif (lane > 0) cg.f32.add();";
const MAX_LANES = "\t\t\t\t\tif (lane > 0) if (re.op === \"Max\") cg.f32.max(); else cg.f32.add();";

// ---- patch 6: one instance per kernel (wasm backend) ------------------------
const INSTANCE_MARK = "/* flowmac-patch: one instance per kernel */";
const INSTANCE_ANCHOR = "\t\t\t\tconst func = new WebAssembly.Instance(program.module, { env: { memory: this.#memory } }).exports.kernel;";
const INSTANCE = `\t\t\t\t${INSTANCE_MARK} if (program.flowmacMemory !== this.#memory) { program.flowmacKernel = new WebAssembly.Instance(program.module, { env: { memory: this.#memory } }).exports.kernel; program.flowmacMemory = this.#memory; }
\t\t\t\tconst func = program.flowmacKernel;`;

// ---- patch 7: strided lane loads (wasm backend) ----------------------------
const STRIDED_MARK = "/* flowmac-patch: strided lane loads */";
const STRIDED_ANCHOR = `			} else {
				const steppingLocal = ctx["gidx"];`;
const STRIDED = `			} else if (Object.keys(ctx).length === 1 && byteWidth(dtype) === 4 && flowmacEmitStridedLoad(cg, exp, isInt, () => translateExp(cg, funcs, indexSubtree, ctx), pointerValueCache)) {
			} else {
				const steppingLocal = ctx["gidx"];`;
const TILED_ANCHOR = "\t\t\tif (!re) emitGuardedFastPath(4, () => {";
const TILED = `\t\t\tconst flowmacTilePlan = re ? null : flowmacTransposeTilePlan(tune.exp, kernel.size);
\t\t\tif (flowmacTilePlan) flowmacEmitTiledElementwise(cg, funcs, flowmacTilePlan, { gidx, paramBegin, paramEnd, setLocalConst, bumpLocal, emitLoopWhileConstLt, emitLoopWhileLocalLt, step: emitElementwiseSimdStep });
${TILED_ANCHOR}`;

// ---- patch 8: matmul pointer offsets (wasm backend) -------------------------
const OFFSET_MARK = "/* flowmac-patch: matmul pointer offsets */";
const OFFSET_MAPS_ANCHOR = "const { pointerMaps, uniquePointers } = initializePointerMaps(groups, kSimdReductionPointerCandidates, ";
const OFFSET_MAPS = "const { pointerMaps, uniquePointers } = flowmacOffsetPointers(groups, kSimdReductionPointerCandidates, kSimdTilePlan, initializePointerMaps, ";
const OFFSET_LOAD_ANCHOR = `					cg.local.get(pointer.ptr);
					if (stride.kind === "contiguous") if (isInt) cg.i32x4.load(4);
					else cg.f32x4.load(4);
					else if (stride.kind === "broadcast") if (isInt) {
						cg.i32.load(2);
						cg.i32x4.splat();
					} else {
						cg.f32.load(2);
						cg.f32x4.splat();
					}`;
const OFFSET_LOAD = `					cg.local.get(pointer.ptr);
					const flowmacOffset = pointer.flowmacOffset ?? 0;
					if (stride.kind === "contiguous") if (isInt) cg.i32x4.load(4, flowmacOffset);
					else cg.f32x4.load(4, flowmacOffset);
					else if (stride.kind === "broadcast") if (isInt) {
						cg.i32.load(2, flowmacOffset);
						cg.i32x4.splat();
					} else {
						cg.f32.load(2, flowmacOffset);
						cg.f32x4.splat();
					}`;

// ---- patch 9: lane-uniform masks (wasm backend) ----------------------------
const UNIFORM_MARK = "/* flowmac-patch: lane-uniform masks */";
const UNIFORM_ELIGIBLE_ANCHOR = `		if (visited.has(exp)) return true;
		visited.add(exp);
		if (!simdSupportedOps.get(exp.dtype)?.has(exp.op)) return false;`;
const UNIFORM_ELIGIBLE = `		if (visited.has(exp)) return true;
		visited.add(exp);
		${UNIFORM_MARK} if (!kernel.reduction && flowmacIsIndexMath(exp)) return true;
		if (!simdSupportedOps.get(exp.dtype)?.has(exp.op)) return false;`;
const UNIFORM_LIMIT_ANCHOR = `function isSimdEligible(tunedExp, kernel) {
	if (kernel.size < 4) return false;`;
const UNIFORM_LIMIT = `${UNIFORM_LIMIT_ANCHOR}
	if (!kernel.reduction && flowmacLaneByLaneCount(tunedExp) > 3) return false;`;
const UNIFORM_GEN_ANCHOR = `		if (expContext.has(exp)) return cg.local.get(expContext.get(exp));
		const { op, src, arg, dtype } = exp;
		const isInt = dtype === "int32" || dtype === "uint32" || dtype === "bool";`;
const UNIFORM_GEN = `		if (expContext.has(exp)) return cg.local.get(expContext.get(exp));
		if (flowmacEmitIndexMath(cg, funcs, exp, ctx)) return;
		const { op, src, arg, dtype } = exp;
		const isInt = dtype === "int32" || dtype === "uint32" || dtype === "bool";`;

// ---- patch 10: SIMD sin and cos (wasm backend) -----------------------------
const SINCOS_MARK = "/* flowmac-patch: SIMD sin and cos */";
const SINCOS_OPS_ANCHOR = `		} else if (op === "Floor") {
			gen(src[0]);
			cg.f32x4.floor();`;
const SINCOS_OPS = `		} else if (op === "Sin" || op === "Cos") {
			gen(src[0]);
			flowmacEmitSinCosSimd(cg, op === "Cos");
${SINCOS_OPS_ANCHOR}`;
const SINCOS_SET_ANCHOR = `${SIMD_MARK} for (const op of ["Exp", "Log", "Erf", "Reciprocal"]) simdSupportedOps.get("float32").add(op);`;
const SINCOS_SET = `${SINCOS_SET_ANCHOR}
${SINCOS_MARK} for (const op of ["Sin", "Cos"]) simdSupportedOps.get("float32").add(op);`;

const PATCHES = [
  {
    name: "contiguous dot operands",
    mark: DOT_MARK,
    files: (dist) => ["index.js", "index.cjs"].filter((f) => existsSync(join(dist, f))),
    edits: () => [
      [DOT_ANCHOR, `${DOT_ANCHOR}\n\t${DOT_HELPER}`],
      [DOT_ORIGINAL, DOT_PATCHED],
      [DOT_T_ORIGINAL, DOT_T_PATCHED],
    ],
  },
  {
    name: "SIMD math",
    mark: SIMD_MARK,
    files: backendFiles,
    edits: () => [
      inject("simd-math.js"),
      [SIMD_OPS_ANCHOR, SIMD_OPS],
      [SIMD_SET_ANCHOR, SIMD_SET],
    ],
  },
  {
    name: "matmul micro-tile",
    mark: TILE_MARK,
    files: backendFiles,
    edits: () => [
      ["const K_SIMD_MICRO_COLS = 4;", `const K_SIMD_MICRO_COLS = 2; ${TILE_MARK}`],
      ["const K_SIMD_MAX_UNROLL = 4;", "const K_SIMD_MAX_UNROLL = 1;"],
    ],
  },
  {
    name: "shared matmul pointers",
    mark: SHARE_MARK,
    files: backendFiles,
    edits: () => [
      inject("row-invariant.js"),
      [SHARE_KEY_ANCHOR, SHARE_KEY],
      [SHARE_CALL_ANCHOR, SHARE_CALL],
    ],
  },
  {
    name: "SIMD max reduction",
    mark: MAX_MARK,
    files: backendFiles,
    edits: () => [
      [MAX_ALLOW_ANCHOR, MAX_ALLOW],
      [MAX_STEP_ANCHOR, MAX_STEP],
      [MAX_LANES_ANCHOR, MAX_LANES],
    ],
  },
  {
    name: "one instance per kernel",
    mark: INSTANCE_MARK,
    files: backendFiles,
    edits: () => [[INSTANCE_ANCHOR, INSTANCE]],
  },
  {
    name: "strided lane loads",
    mark: STRIDED_MARK,
    files: backendFiles,
    edits: () => [inject("lane-stride.js"), [STRIDED_ANCHOR, STRIDED], [TILED_ANCHOR, TILED]],
  },
  {
    name: "matmul pointer offsets",
    mark: OFFSET_MARK,
    files: backendFiles,
    edits: () => [inject("tile-offsets.js"), [OFFSET_MAPS_ANCHOR, OFFSET_MAPS], [OFFSET_LOAD_ANCHOR, OFFSET_LOAD]],
  },
  {
    name: "lane-uniform masks",
    mark: UNIFORM_MARK,
    files: backendFiles,
    edits: () => [[UNIFORM_ELIGIBLE_ANCHOR, UNIFORM_ELIGIBLE], [UNIFORM_LIMIT_ANCHOR, UNIFORM_LIMIT], [UNIFORM_GEN_ANCHOR, UNIFORM_GEN]],
  },
  {
    name: "SIMD sin and cos",
    mark: SINCOS_MARK,
    files: backendFiles,
    edits: () => [inject("simd-sincos.js"), [SINCOS_OPS_ANCHOR, SINCOS_OPS], [SINCOS_SET_ANCHOR, SINCOS_SET]],
  },
];

const jaxDir = findJaxJs(join(here, ".."));
if (!jaxDir) {
  console.error("patch-jax-js: @jax-js/jax is not installed");
  process.exit(1);
}
const dist = join(jaxDir, "dist");
// FLOWMAC_JAX_PATCHES_SKIP="name,name": leave those patches out (to measure what each one earns,
// docs/architecture.md); an unknown name is an error, so a typo cannot measure the wrong thing.
const skip = (process.env.FLOWMAC_JAX_PATCHES_SKIP ?? "").split(",").map((s) => s.trim()).filter(Boolean);
for (const name of skip)
  if (!PATCHES.some((p) => p.name === name)) {
    console.error(`patch-jax-js: FLOWMAC_JAX_PATCHES_SKIP names no patch '${name}' (patches: ${PATCHES.map((p) => p.name).join(", ")})`);
    process.exit(1);
  }
for (const patch of PATCHES.filter((p) => !skip.includes(p.name))) {
  const files = patch.files(dist);
  if (files.length === 0) {
    console.error(`patch-jax-js: no files for the "${patch.name}" patch (is @jax-js/jax still pinned to 0.1.25?)`);
    process.exit(1);
  }
  for (const file of files) {
    const path = join(dist, file);
    let src = readFileSync(path, "utf8");
    if (src.includes(patch.mark)) continue;
    for (const [anchor, replacement] of patch.edits()) {
      if (src.split(anchor).length !== 2) {
        console.error(`patch-jax-js: ${file} does not contain the expected code for the "${patch.name}" patch exactly once (is @jax-js/jax still pinned to 0.1.25?)`);
        process.exit(1);
      }
      // A replacer function: the patched code contains "$1"-like names that string replacements would interpret.
      src = src.replace(anchor, () => replacement);
    }
    writeFileSync(path, src);
  }
}
