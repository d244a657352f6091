/* flowmac-patch: matmul pointer offsets */
// Injected by scripts/patch-jax-js.mjs into @jax-js/jax's wasm backend (see
// there). A micro-tile of the k-vectorised matmul loop (microRows x microCols
// outputs, gidx = A*u + row*T + col + c, see row-invariant.js) kept one
// pointer per distinct operand address: 4 left-hand rows and 2 right-hand
// columns, each advanced every step of k. Where an operand's address provably
// moves by a constant from row to row and from column to column (a plain
// row-major operand does: K floats per row), one pointer serves the whole
// tile and the other rows and columns load from it at constant byte offsets,
// which wasm encodes in the load instruction: 4 fewer additions per step of
// the inner loop. The addresses, and so the values, are unchanged. Uses
// flowmacLaneStride (lane-stride.js) and the backend's byteWidth.

/** Element steps of a pointer candidate's address per tile row and per tile column, or null. */
function flowmacTileSteps(candidate, plan) {
  const { tileSize: T, microRows: R, microCols: C } = plan;
  if (T % C !== 0) return null;
  const rows = R > 1 ? flowmacLaneStride(candidate.baseIndex, R, { step: T, modulus: R * T, residue: 0, slack: T - 1 }) : { step: 0 };
  const cols = C > 1 ? flowmacLaneStride(candidate.baseIndex, C, { step: 1, modulus: C, residue: 0, slack: 0 }) : { step: 0 };
  if (!rows || !cols || rows.step < 0 || cols.step < 0) return null;
  return { row: rows.step, col: cols.step };
}

/**
 * initializePointerMaps for a micro-tile, with offset pointers: a candidate
 * with constant row and column steps gets one pointer (set up at the tile's
 * first output, groups[0]) and every group reads it at its own byte offset.
 * Other candidates keep jax-js's sharing keys.
 */
function flowmacOffsetPointers(groups, candidates, plan, initializePointerMaps, keyFor, ctxFor) {
  const steps = new Map();
  for (const candidate of candidates) {
    const s = flowmacTileSteps(candidate, plan);
    if (s) steps.set(candidate, s);
  }
  const key = (candidate, group, i) => (steps.has(candidate) ? `${candidate.exp.getHash()}:flowmacTile` : keyFor(candidate, group, i));
  const result = initializePointerMaps(groups, candidates, key, ctxFor);
  groups.forEach((group, i) => {
    for (const [candidate, s] of steps) {
      const offset = (group.row * s.row + group.col * s.col) * byteWidth(candidate.dtype);
      if (offset === 0) continue;
      const base = result.pointerMaps[i].get(candidate.exp);
      result.pointerMaps[i].set(candidate.exp, { ...base, flowmacOffset: offset, valueKey: `${base.valueKey}:+${offset}` });
    }
  });
  return result;
}
