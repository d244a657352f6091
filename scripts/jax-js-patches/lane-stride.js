/* flowmac-patch: strided lane loads */
// Injected by scripts/patch-jax-js.mjs into @jax-js/jax's wasm backend (see
// there). An element-wise kernel is vectorised over 4 consecutive outputs
// gidx = g0..g0+3, with g0 a multiple of 4 (the fast path is entered only on
// a 4-aligned range). An input read through a transposed view (the copies
// that feed matmuls, attention's swapped axes) is a "gather" to jax-js: for
// each lane it recomputed the whole index expression, with its divisions,
// and loaded one float; in gidx order it also walked down the input's
// columns, touching a new cache line per element. Two changes, neither of
// which alters a value:
// - When the index provably moves by a constant step s from lane to lane,
//   one index computation and 4 loads at fixed offsets s*4*l bytes replace
//   the 4 computations.
// - A kernel with such an input walks its output as rows of C elements in
//   column tiles of W (all rows of one tile, then the next), so the input
//   lines a tile touches stay in cache; within a W-block the index is affine,
//   so it is computed once per block and every load uses a constant offset.
// Uses the backend's isSymbol, constInt, referencesGidx, gcd, simdStrideResult,
// simdSupportedOps, byteWidth and translateExp.

const flowmacMod = (a, m) => ((a % m) + m) % m;

/**
 * How an integer index expression varies over `lanes` lanes, lane l reading
 * gidx = g0 + l*step0 for a g0 described by `gidx` (by default: 4 lanes of
 * consecutive outputs from a multiple of 4). The answer has the same form:
 * value(l) = value(0) + step*l, where value(0) = modulus*k + residue + e for
 * some integer k and some 0 <= e <= slack (modulus 0: value(0) is exactly
 * residue + e). `period` is how many consecutive outputs it stays affine for
 * (a tiling hint only). Null when the expression is not provably of that
 * form. Conservative.
 */
function flowmacLaneStride(exp, lanes = 4, gidx = { step: 1, modulus: 4, residue: 0, slack: 0 }) {
  const unknown = { step: 0, modulus: 1, residue: 0, slack: 0, period: Infinity };
  const reduce = (r, m) => (m ? flowmacMod(r, m) : r);
  const visit = (e) => {
    if (!referencesGidx(e)) {
      const c = constInt(e);
      return c !== null ? { step: 0, modulus: 0, residue: c, slack: 0, period: Infinity } : unknown;
    }
    if (isSymbol(e, "gidx")) return { ...gidx, period: Infinity };
    if (e.op === "Add" || e.op === "Sub") {
      const a = visit(e.src[0]);
      const b = visit(e.src[1]);
      if (!a || !b) return null;
      const sign = e.op === "Add" ? 1 : -1;
      const modulus = gcd(a.modulus, b.modulus);
      // Subtracting b's unknown part moves value(0) down by up to b.slack.
      const residue = a.residue + sign * b.residue - (sign < 0 ? b.slack : 0);
      const period = Math.min(a.period, b.period);
      return { step: a.step + sign * b.step, modulus, residue: reduce(residue, modulus), slack: a.slack + b.slack, period };
    }
    if (e.op === "Mul") {
      for (let i = 0; i < 2; i++) {
        const c = constInt(e.src[i]);
        if (c === null) continue;
        if (c === 0) return { step: 0, modulus: 0, residue: 0, slack: 0, period: Infinity };
        const a = visit(e.src[1 - i]);
        if (!a) return null;
        const modulus = Math.abs(a.modulus * c);
        const residue = a.residue * c + (c < 0 ? a.slack * c : 0);
        return { step: a.step * c, modulus, residue: reduce(residue, modulus), slack: a.slack * Math.abs(c), period: a.period };
      }
      return null;
    }
    if (e.op === "Idiv" || e.op === "Mod") {
      // wasm's division truncates. For a dividend in (-n, 0) (a padded view's
      // offsets) the quotient is 0 and the remainder the dividend itself: the
      // same as for [0, n), so the rules below hold when no lane crosses 0,
      // which they exclude (0 is a multiple of n), except where they use the
      // exact value or a quotient step: those need a non-negative dividend.
      const n = constInt(e.src[1]);
      const min = e.src[0].min;
      if (n === null || n <= 0 || min <= -n) return null;
      const a = visit(e.src[0]);
      if (!a || a.step < 0) return null;
      if (min < 0 && (a.modulus === 0 || a.step >= n)) return null;
      const period = a.step > 0 ? Math.min(a.period, Math.floor(n / a.step)) : a.period;
      // A step of q*n + s (s < n) moves the quotient by q per lane, plus what s
      // adds. value(0) mod n = (multiple of d) + r + e with d = gcd(modulus, n),
      // at most n - d + r + e: adding s per lane never reaches the next multiple
      // of n when r + slack + (lanes-1)*s < d. Then the quotient moves by
      // exactly q per lane whatever e is, and the remainder by s.
      const q = Math.floor(a.step / n);
      const s = a.step - q * n;
      const d = a.modulus === 0 ? n : gcd(a.modulus, n);
      const r = flowmacMod(a.residue, d);
      if (r + a.slack + (lanes - 1) * s < d) {
        if (e.op === "Mod") return { step: s, modulus: a.modulus === 0 ? 0 : d, residue: r, slack: a.slack, period };
        return a.modulus === 0 ? { step: q, modulus: 0, residue: Math.floor(a.residue / n), slack: 0, period } : { ...unknown, step: q, period };
      }
      // Otherwise, with s = 0, the lanes still move it by exactly q, though e
      // may move it too: a remainder in [0, n), a quotient of unknown size.
      if (s === 0) return e.op === "Mod" ? { ...unknown, slack: n - 1, period } : { ...unknown, step: q, slack: Infinity, period };
      return null;
    }
    return null;
  };
  return visit(exp);
}

/**
 * Lane step of a GlobalIndex over `block` lanes (null if unknown or negative),
 * and whether its index provably stays in [0, len) (a padded view's does not:
 * its masked lanes read clamped indices).
 */
function flowmacGlobalIndexStep(gi, block = 4) {
  const [, len] = gi.arg;
  const index = gi.src[0];
  const lanes = flowmacLaneStride(index, block, { step: 1, modulus: block, residue: 0, slack: 0 });
  return lanes && lanes.step >= 0 ? { ...lanes, inRange: index.min >= 0 && index.max < len } : null;
}

/** The W-block being emitted by flowmacEmitTiledElementwise: base address locals and the step within the block. */
let flowmacBlock = null;

/**
 * Emits the 4-lane value of a 4-byte GlobalIndex whose index steps by a
 * constant across lanes, or returns false (emitting nothing) when it cannot
 * prove that. `emitIndex` pushes the lane-0 index; `cache` is the calling
 * translateExpSimd's per-step value cache.
 */
function flowmacEmitStridedLoad(cg, exp, isInt, emitIndex, cache) {
  // The same input element read twice in one expression (a concatenation's
  // masked branches often are) is loaded once.
  const key = `flowmacLoad:${exp.getHash()}`;
  if (cache.has(key)) {
    cg.local.get(cache.get(key));
    return true;
  }
  if (!flowmacEmitStridedLoadOnce(cg, exp, isInt, emitIndex)) return false;
  const local = cg.local.declare(isInt ? cg.i32x4 : cg.f32x4);
  cg.local.tee(local);
  cache.set(key, local);
  return true;
}

function flowmacEmitStridedLoadOnce(cg, exp, isInt, emitIndex) {
  const load = (offset) => (isInt ? cg.i32.load(2, offset) : cg.f32.load(2, offset));
  // The 4 lanes at byte offsets offset + lane*step*4 from the address in local `base`.
  const lanesAt = (base, offset, step) => {
    cg.local.get(base);
    if (step === 1) return isInt ? cg.i32x4.load(2, offset) : cg.f32x4.load(2, offset);
    load(offset);
    isInt ? cg.i32x4.splat() : cg.f32x4.splat();
    if (step === 0) return;
    for (let lane = 1; lane < 4; lane++) {
      cg.local.get(base);
      load(offset + lane * step * 4);
      isInt ? cg.i32x4.replace_lane(lane) : cg.f32x4.replace_lane(lane);
    }
  };
  const inBlock = flowmacBlock?.bases.get(exp.getHash());
  if (inBlock) {
    // Inside a W-block: the address of the block's first element is in a local.
    lanesAt(inBlock.base, 4 * flowmacBlock.j * inBlock.step * 4, inBlock.step);
    return true;
  }
  const lanes = flowmacGlobalIndexStep(exp);
  if (!lanes) return false;
  const [gid, len] = exp.arg;
  const first = cg.local.declare(cg.i32);
  const address = cg.local.declare(cg.i32);
  // address = the byte address of the index on the stack
  const setAddress = () => {
    cg.i32.const(4);
    cg.i32.mul();
    cg.local.get(gid);
    cg.i32.add();
    cg.local.set(address);
  };
  emitIndex();
  cg.local.set(first);
  if (lanes.inRange) {
    cg.local.get(first);
    setAddress();
    lanesAt(address, 0, lanes.step);
    return true;
  }
  // A padded view: a lane whose index leaves [0, len) reads element 0, as in
  // jax-js's gather. Checked once for all 4 lanes (unsigned: also catches < 0).
  const lastStart = len - 3 * lanes.step;
  if (lastStart > 0) {
    cg.local.get(first);
    cg.i32.const(lastStart);
    cg.i32.lt_u();
    cg.if(isInt ? cg.i32x4 : cg.f32x4);
    cg.local.get(first);
    setAddress();
    lanesAt(address, 0, lanes.step);
    cg.else();
  }
  const index = cg.local.declare(cg.i32);
  for (let lane = 0; lane < 4; lane++) {
    cg.local.get(first);
    cg.i32.const(lane * lanes.step);
    cg.i32.add();
    cg.local.tee(index);
    cg.i32.const(0);
    cg.local.get(index);
    cg.i32.const(len);
    cg.i32.lt_u();
    cg.select();
    setAddress();
    cg.local.get(address);
    load(0);
    if (lane === 0) isInt ? cg.i32x4.splat() : cg.f32x4.splat();
    else isInt ? cg.i32x4.replace_lane(lane) : cg.f32x4.replace_lane(lane);
  }
  if (lastStart > 0) cg.end();
  return true;
}

/**
 * Loop plan for an element-wise kernel that reads an input with a lane step
 * above 1: rows of C outputs (the span over which that index stays affine),
 * column tiles of W, and the inputs that are affine over each W-block. Null
 * when no input is read that way.
 */
function flowmacTransposeTilePlan(exp, size) {
  const gathers = exp.collect((node) => node.op === "GlobalIndex" && byteWidth(node.dtype) === 4);
  let C = Infinity;
  let maxStep = 0;
  for (const gi of gathers) {
    const lanes = flowmacGlobalIndexStep(gi);
    if (lanes && lanes.step > 1) {
      C = Math.min(C, lanes.period);
      maxStep = Math.max(maxStep, lanes.step);
    }
  }
  if (!isFinite(C) || C % 4 !== 0 || size % C !== 0 || size / C < 8) return null;
  // A tile reads W input rows at once. Rows 2 KB or more apart tend to share
  // L1 sets (a [512,1024] transpose: W 8 took 1.0-1.1 ms, W 16 1.3-1.6, W 32 2.2-2.8).
  const W = [maxStep * 4 >= 2048 ? 8 : 16, 8, 4].find((w) => C % w === 0);
  const strided = new Map();
  for (const gi of gathers) {
    const lanes = flowmacGlobalIndexStep(gi, W);
    // Only inputs that jax-js reads as gathers come through flowmacEmitStridedLoad.
    if (lanes && lanes.inRange && lanes.step > 0 && simdStrideResult(gi).kind === "gather") strided.set(gi.getHash(), { gi, step: lanes.step });
  }
  return { C, W, size, strided };
}

/**
 * Emits the column-tiled loop of `plan`, entered only for the whole range
 * [0, size). `h` carries codegenWasm's locals and loop helpers.
 */
function flowmacEmitTiledElementwise(cg, funcs, plan, h) {
  cg.local.get(h.paramBegin);
  cg.i32.eqz();
  cg.local.get(h.paramEnd);
  cg.i32.const(plan.size);
  cg.i32.eq();
  cg.i32.and();
  cg.if(cg.void);
  const colTile = cg.local.declare(cg.i32);
  const rowStart = cg.local.declare(cg.i32);
  const bases = new Map();
  for (const [hash, { step }] of plan.strided) bases.set(hash, { base: cg.local.declare(cg.i32), step });
  h.setLocalConst(colTile, 0);
  h.emitLoopWhileConstLt(colTile, plan.C, () => {
    h.setLocalConst(rowStart, 0);
    h.emitLoopWhileConstLt(rowStart, plan.size, () => {
      cg.local.get(rowStart);
      cg.local.get(colTile);
      cg.i32.add();
      cg.local.set(h.gidx);
      for (const [hash, { gi }] of plan.strided) {
        translateExp(cg, funcs, gi.src[0], { gidx: h.gidx });
        cg.i32.const(4);
        cg.i32.mul();
        cg.local.get(gi.arg[0]);
        cg.i32.add();
        cg.local.set(bases.get(hash).base);
      }
      for (let j = 0; j < plan.W / 4; j++) {
        flowmacBlock = { bases, j };
        h.step();
        flowmacBlock = null;
      }
      h.bumpLocal(rowStart, plan.C);
    });
    h.bumpLocal(colTile, plan.W);
  });
  cg.return();
  cg.end();
}

/**
 * True if an integer or boolean expression (an index computation or a
 * padding/concatenation mask, no loads) has the same value in all 4 lanes of
 * an element-wise step (gidx = g0..g0+3, g0 a multiple of 4). jax-js has no
 * SIMD integer division, so a kernel containing such a mask, e.g. the
 * (gidx % 768) < 256 of a concatenation, ran one element at a time; a
 * lane-uniform subtree is computed once, as a scalar, and splatted (see
 * flowmacEmitIndexMath).
 */
function flowmacIsLaneUniform(exp) {
  if (!flowmacIsIndexMath(exp)) return false;
  const uniform = (e) => {
    if (!referencesGidx(e)) return true;
    if (e.op === "Cmplt") {
      const [a, b] = e.src.map((s) => (s.dtype === "bool" ? null : flowmacLaneStride(s)));
      if (!a || !b) return false;
      if (a.step === 0 && b.step === 0) return true;
      const constOf = (x) => (x.modulus === 0 && x.step === 0 && x.slack === 0 ? x.residue : null);
      // a < c, or c < b written as !(b < c + 1).
      if (constOf(b) !== null) return flowmacNoCrossing(a, constOf(b));
      if (constOf(a) !== null) return flowmacNoCrossing(b, constOf(a) + 1);
      return false;
    }
    if (e.op === "Cmpne" || (e.dtype === "bool" && (e.op === "Mul" || e.op === "Add" || e.op === "Min" || e.op === "Max"))) {
      return e.src.every((s) => (s.dtype === "bool" ? uniform(s) : flowmacLaneStride(s)?.step === 0));
    }
    if (e.dtype === "bool") return false;
    return flowmacLaneStride(e)?.step === 0;
  };
  return uniform(exp);
}

/** For x(l) = x(0) + step*l (lane form `a`, step >= 0): whether x(l) < c is the same for l = 0..3. */
function flowmacNoCrossing(a, c) {
  if (a.step < 0) return false;
  if (a.step === 0) return true;
  // The comparison splits the lanes iff c - 3*step <= x(0) < c.
  const lo = c - 3 * a.step;
  if (a.modulus === 0) return a.residue + a.slack < lo || a.residue >= c;
  if (a.slack + 1 >= a.modulus || 3 * a.step >= a.modulus) return false;
  for (let x = lo; x < c; x++) {
    const rx = flowmacMod(x - a.residue, a.modulus);
    if (rx <= a.slack) return false; // x = modulus*k + residue + e is feasible
  }
  return true;
}

/** Whether the backend has a SIMD form for every op of an expression. */
function flowmacHasSimdForm(exp) {
  return simdSupportedOps.get(exp.dtype)?.has(exp.op) && exp.src.every(flowmacHasSimdForm);
}

/** An integer or boolean expression without loads: index arithmetic or a mask. */
function flowmacIsIndexMath(exp) {
  return (exp.dtype === "int32" || exp.dtype === "uint32" || exp.dtype === "bool") && exp.collect((node) => node.op === "GlobalIndex").length === 0;
}

/**
 * Emits the 4-lane value of index arithmetic or a mask: once as a scalar,
 * splatted, when it is lane-uniform; else once per lane with gidx = g0 + l
 * (only when part of it has no SIMD form, e.g. an integer division).
 * Returns false, emitting nothing, when the backend's own SIMD code applies.
 */
function flowmacEmitIndexMath(cg, funcs, exp, ctx) {
  if (Object.keys(ctx).length !== 1 || !referencesGidx(exp) || !flowmacIsIndexMath(exp)) return false;
  if (flowmacIsLaneUniform(exp)) {
    translateExp(cg, funcs, exp, ctx);
    cg.i32x4.splat();
    return true;
  }
  if (flowmacHasSimdForm(exp)) return false;
  const gidx = ctx.gidx;
  const first = cg.local.declare(cg.i32);
  const vec = cg.local.declare(cg.v128);
  cg.local.get(gidx);
  cg.local.set(first);
  for (let lane = 0; lane < 4; lane++) {
    if (lane > 0) {
      cg.local.get(first);
      cg.i32.const(lane);
      cg.i32.add();
      cg.local.set(gidx);
      cg.local.get(vec);
    }
    translateExp(cg, funcs, exp, ctx);
    if (lane === 0) cg.i32x4.splat();
    else cg.i32x4.replace_lane(lane);
    cg.local.set(vec);
  }
  cg.local.get(first);
  cg.local.set(gidx);
  cg.local.get(vec);
  return true;
}

/**
 * How many maximal index-math subtrees of an element-wise expression would be
 * computed lane by lane (neither lane-uniform nor SIMD-capable). Each is
 * evaluated 4 times without the scalar path's sharing of common parts, so a
 * kernel with many of them is left to the scalar path (measured in the vocoder
 * discriminators' im2col kernels: with 3, 21.5 -> 16.3 ns per element; with 5,
 * 46 -> 54; with 25, slower still).
 */
function flowmacLaneByLaneCount(exp) {
  let count = 0;
  const seen = new Set();
  const visit = (e) => {
    if (seen.has(e)) return;
    seen.add(e);
    if (e.op === "GlobalIndex") return;
    if (referencesGidx(e) && flowmacIsIndexMath(e)) {
      if (!flowmacIsLaneUniform(e) && !flowmacHasSimdForm(e)) count++;
      return;
    }
    e.src.forEach(visit);
  };
  visit(exp);
  return count;
}
