/* flowmac-patch: shared matmul pointers */
// Injected by scripts/patch-jax-js.mjs into @jax-js/jax's wasm backend (see
// there). In the k-vectorised matmul loop a micro-tile covers output indices
// gidx = A*u + row*T + c (A = microRows*T, 0 <= c < T, 0 <= row < microRows):
// the fast path is entered only when its range is aligned to A, and row
// offsets step by microRows. An operand whose address does not depend on the
// row (the right-hand matrix) can then share one pointer, and one load, per
// column across the tile's rows. jax-js proves that only when the address is
// unchanged by gidx -> gidx + T for every gidx, which fails as soon as the
// matmul is batched (heads, batch: the address jumps at each batch boundary,
// which a tile never straddles). Without sharing, each (row, column) pair
// recomputed its address with several divisions and reloaded the same data.
// Uses the backend's own isSymbol, constInt and referencesGidx helpers.

/** True if `exp` has the same value at A*u + row*T + c for every row < A/T (with 0 <= c < T). Conservative. */
function flowmacRowInvariant(exp, A, T) {
  const isGidx = (e) => isSymbol(e, "gidx");
  const divisorOfGidx = (e) => (e.op === "Idiv" && isGidx(e.src[0]) ? constInt(e.src[1]) : null);
  const check = (e) => {
    if (!referencesGidx(e)) return true;
    if (isGidx(e)) return false;
    if (e.op === "Idiv") {
      const d = divisorOfGidx(e);
      // floor((A*u + y) / d) with y < A is floor(A*u / d) when A divides d.
      if (d !== null && d > 0 && d % A === 0) return true;
    }
    if (e.op === "Mod") {
      const m = constInt(e.src[1]);
      if (m !== null && m > 0) {
        // (gidx + row*T) mod m = gidx mod m when m divides T.
        if (isGidx(e.src[0]) && T % m === 0) return true;
        // floor(gidx / d) moves by row*T/d, a multiple of m when d*m divides T.
        const d = divisorOfGidx(e.src[0]);
        if (d !== null && d > 0 && T % d === 0 && (T / d) % m === 0) return true;
      }
    }
    // Any other node: invariant when all its operands are.
    return e.src.length > 0 && e.src.every(check);
  };
  return check(exp);
}
