/* flowmac-patch: SIMD sin and cos */
// Injected by scripts/patch-jax-js.mjs into @jax-js/jax's wasm backend (see
// there). Lane-wise f32x4 ports of the backend's scalar wasm_sin and wasm_cos
// (_sincos): the same operations in the same order on each lane, so results
// are bit-identical to the scalar path. Without them any kernel containing a
// sine or cosine (Snake activations, the vocoder's phase) ran one element at
// a time, with a function call each. Uses simd-math.js's helpers
// (flowmacRoundReduce: the same reduction as the vector exp).

/** sin (cosine false) or cos of the vector on the stack, as wasm_sin / wasm_cos. */
function flowmacEmitSinCosSimd(cg, cosine) {
  const x = flowmacTakeArgument(cg);
  const [y, z2, sz, cz, mag] = Array.from({ length: 5 }, () => cg.local.declare(cg.v128));
  // y = x - nearest(x / 2pi) * 2pi
  cg.local.get(x);
  cg.local.get(x);
  flowmacSplatF32(cg, 1 / (2 * Math.PI));
  cg.f32x4.mul();
  cg.f32x4.nearest();
  flowmacSplatF32(cg, 2 * Math.PI);
  cg.f32x4.mul();
  cg.f32x4.sub();
  cg.local.set(y);
  // quadrant q = nearest(y / (pi/2)), z = y - q pi/2
  const { k: q, r: z } = flowmacRoundReduce(cg, y, 2 / Math.PI, Math.PI / 2);
  cg.local.get(z);
  cg.local.get(z);
  cg.f32x4.mul();
  cg.local.set(z2);
  flowmacPolySimd(cg, z2, [1, -1 / 6, 1 / 120, -1 / 5040]);
  cg.local.get(z);
  cg.f32x4.mul();
  cg.local.set(sz);
  flowmacPolySimd(cg, z2, [1, -1 / 2, 1 / 24, -1 / 720, 1 / 40320]);
  cg.local.set(cz);
  const laneBitSet = (bit, addOne) => {
    cg.local.get(q);
    if (addOne) {
      flowmacSplatI32(cg, 1);
      cg.i32x4.add();
    }
    flowmacSplatI32(cg, bit);
    cg.v128.and();
    flowmacSplatI32(cg, 0);
    cg.i32x4.ne();
  };
  // Odd quadrants swap sine and cosine; the sign follows q & 2 (sin) or (q + 1) & 2 (cos).
  cg.local.get(cosine ? sz : cz);
  cg.local.get(cosine ? cz : sz);
  laneBitSet(1, false);
  cg.v128.bitselect();
  cg.local.tee(mag);
  cg.f32x4.neg();
  cg.local.get(mag);
  laneBitSet(2, cosine);
  cg.v128.bitselect();
}
