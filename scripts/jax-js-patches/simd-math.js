/* flowmac-patch: SIMD math */
// Injected by scripts/patch-jax-js.mjs into @jax-js/jax's wasm backend (see
// there). Lane-wise f32x4 ports of the backend's scalar wasm_exp, wasm_log and
// wasm_erf: the same operations in the same order on each lane, so a kernel
// gives bit-identical results whether it runs on the SIMD or the scalar path.
// Without these, any kernel containing exp/log/erf (softmax, GELU, layer-norm
// backward, losses) ran one element at a time with a function call each.
// Each emitter writes its code inline into the kernel being generated: it
// takes its argument from the stack and leaves the result there (V8 does not
// inline wasm calls, and a call spills every live vector register around it).
// `cg` is the backend's wasm assembler; nothing else from the bundle is used.

function flowmacSplatF32(cg, value) {
  cg.f32.const(value);
  cg.f32x4.splat();
}

function flowmacSplatI32(cg, value) {
  cg.i32.const(value);
  cg.i32x4.splat();
}

/** Pops the stack's top vector into a new local of the kernel and returns it. */
function flowmacTakeArgument(cg) {
  const x = cg.local.declare(cg.v128);
  cg.local.set(x);
  return x;
}

/** Horner's scheme as the scalar _poly does it (zero coefficients skipped). */
function flowmacPolySimd(cg, x, coefficients) {
  flowmacSplatF32(cg, coefficients[coefficients.length - 1]);
  for (let i = coefficients.length - 2; i >= 0; i--) {
    cg.local.get(x);
    cg.f32x4.mul();
    if (coefficients[i] !== 0) {
      flowmacSplatF32(cg, coefficients[i]);
      cg.f32x4.add();
    }
  }
}

/** Replaces the lanes of `result` where the mask pushed by emitMask is set by `value`. */
function flowmacSelectConst(cg, value, result, emitMask) {
  flowmacSplatF32(cg, value);
  cg.local.get(result);
  emitMask();
  cg.v128.bitselect();
  cg.local.set(result);
}

/**
 * Argument reduction x = k*step + r with k = nearest(x * scale), as the scalar
 * exp and sin/cos do it: returns locals holding k (as integers) and r.
 */
function flowmacRoundReduce(cg, x, scale, step) {
  const kf = cg.local.declare(cg.v128);
  const k = cg.local.declare(cg.v128);
  const r = cg.local.declare(cg.v128);
  cg.local.get(x);
  flowmacSplatF32(cg, scale);
  cg.f32x4.mul();
  cg.f32x4.nearest();
  cg.local.tee(kf);
  cg.i32x4.trunc_sat_f32x4_s();
  cg.local.set(k);
  cg.local.get(x);
  cg.local.get(kf);
  flowmacSplatF32(cg, step);
  cg.f32x4.mul();
  cg.f32x4.sub();
  cg.local.set(r);
  return { k, r };
}

/** e^x: x = k ln2 + r, e^x = 2^k P(r); k > 127 gives +inf, k < -126 gives 0 (as wasm_exp). */
function flowmacEmitExpSimd(cg) {
  const x = flowmacTakeArgument(cg);
  const { k, r } = flowmacRoundReduce(cg, x, 1 / Math.LN2, Math.LN2);
  const result = cg.local.declare(cg.v128);
  flowmacPolySimd(cg, r, [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720]);
  cg.local.get(k);
  flowmacSplatI32(cg, 127);
  cg.i32x4.add();
  cg.i32.const(23);
  cg.i32x4.shl();
  cg.f32x4.mul();
  cg.local.set(result);
  flowmacSelectConst(cg, Infinity, result, () => {
    cg.local.get(k);
    flowmacSplatI32(cg, 127);
    cg.i32x4.gt_s();
  });
  flowmacSelectConst(cg, 0, result, () => {
    cg.local.get(k);
    flowmacSplatI32(cg, -126);
    cg.i32x4.lt_s();
  });
  cg.local.get(result);
}

/** ln(x) = e ln2 + ln(m), ln(m) by the atanh series; x < 0 -> NaN, 0 -> -inf, inf/NaN pass (as wasm_log). */
function flowmacEmitLogSimd(cg) {
  const x = flowmacTakeArgument(cg);
  const e = cg.local.declare(cg.v128);
  const m = cg.local.declare(cg.v128);
  const t = cg.local.declare(cg.v128);
  const t2 = cg.local.declare(cg.v128);
  const result = cg.local.declare(cg.v128);
  cg.local.get(x);
  cg.i32.const(23);
  cg.i32x4.shr_u();
  flowmacSplatI32(cg, 255);
  cg.v128.and();
  flowmacSplatI32(cg, 127);
  cg.i32x4.sub();
  cg.local.set(e);
  cg.local.get(x);
  flowmacSplatI32(cg, 8388607);
  cg.v128.and();
  flowmacSplatI32(cg, 1065353216);
  cg.v128.or();
  cg.local.set(m);
  cg.local.get(m);
  flowmacSplatF32(cg, 1);
  cg.f32x4.sub();
  cg.local.get(m);
  flowmacSplatF32(cg, 1);
  cg.f32x4.add();
  cg.f32x4.div();
  cg.local.tee(t);
  cg.local.get(t);
  cg.f32x4.mul();
  cg.local.set(t2);
  flowmacPolySimd(cg, t2, [2, 2 / 3, 2 / 5, 2 / 7]);
  cg.local.get(t);
  cg.f32x4.mul();
  cg.local.get(e);
  cg.f32x4.convert_i32x4_s();
  flowmacSplatF32(cg, Math.LN2);
  cg.f32x4.mul();
  cg.f32x4.add();
  cg.local.set(result);
  // Special cases in reverse order of the scalar code's early returns, so its first test wins.
  cg.local.get(x);
  cg.local.get(result);
  cg.local.get(e);
  flowmacSplatI32(cg, 128);
  cg.i32x4.eq();
  cg.v128.bitselect();
  cg.local.set(result);
  flowmacSelectConst(cg, -Infinity, result, () => {
    cg.local.get(e);
    flowmacSplatI32(cg, -127);
    cg.i32x4.eq();
  });
  flowmacSelectConst(cg, NaN, result, () => {
    cg.local.get(x);
    flowmacSplatF32(cg, 0);
    cg.f32x4.lt();
  });
  cg.local.get(result);
}

/** erf(x) = sign(x) (1 - P(t) e^(-x^2)), t = 1 / (1 + p|x|) (Abramowitz-Stegun 7.1.26, as wasm_erf). */
function flowmacEmitErfSimd(cg) {
  const x = flowmacTakeArgument(cg);
  const ax = cg.local.declare(cg.v128);
  const t = cg.local.declare(cg.v128);
  cg.local.get(x);
  cg.f32x4.abs();
  cg.local.set(ax);
  cg.local.get(x); // the sign source for the final copysign
  flowmacSplatF32(cg, 1);
  flowmacSplatF32(cg, 1);
  flowmacSplatF32(cg, 1);
  flowmacSplatF32(cg, 0.3275911);
  cg.local.get(ax);
  cg.f32x4.mul();
  cg.f32x4.add();
  cg.f32x4.div();
  cg.local.set(t);
  flowmacPolySimd(cg, t, [0, 0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429]);
  cg.local.get(ax);
  cg.f32x4.neg();
  cg.local.get(ax);
  cg.f32x4.mul();
  flowmacEmitExpSimd(cg);
  cg.f32x4.mul();
  cg.f32x4.sub();
  // copysign(magnitude, x) = bitselect(x, magnitude, sign bit)
  flowmacSplatI32(cg, -2147483648);
  cg.v128.bitselect();
}
