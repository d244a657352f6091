/**
 * Winograd minimal filtering F(4,3) for stride-1 convolutions with 3 taps
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016,
 * in its 1-D form). A tile of 4 outputs needs 6 channel-mixing products in
 * the transformed domain instead of 12 taps x outputs, so the matmuls, which
 * are ~90% of an im2col conv's time here, halve. For one tile,
 *
 *   y = Aᵀ [ (G w) ⊙ (Bᵀ d) ]     d: 6 inputs, w: 3 taps, y: 4 outputs,
 *
 * and with channels each ⊙ becomes a [tiles, C] x [C, O] matmul. The
 * transforms are small sums written as jax-js ops, so autodiff gives the
 * backward pass, whose two matmuls per product shrink the same way.
 *
 * Interpolation points 0, ±1, 1/2, −2, ∞ (the matrices below were derived
 * from them exactly): in a float32 simulation at 256 channels their error was
 * 1.3e-6 of the largest output, against 3.2e-6 for Lavin's 0, ±1, ±2 and
 * 0.5e-6 for the direct sum. On the PyTorch fixtures: 3.9e-7 (test: 2e-6).
 *
 * Dilation d: the 4 outputs of a tile are d frames apart, so tiles are taken
 * per phase: input frame (u*4 + i)*d + r feeds tile (u, r) as its i-th input.
 * The padded input viewed as [B, U+1, 4, d, C] gives all six inputs as views.
 */
import { np, type JArray } from "./runtime.js";

/** Input transform Bᵀ (6 x 6). */
const INPUT_TRANSFORM = [
  [1, -3 / 2, -2, 3 / 2, 1, 0],
  [0, -1, 1 / 2, 5 / 2, 1, 0],
  [0, 1, -5 / 2, 1 / 2, 1, 0],
  [0, -2, -1, 2, 1, 0],
  [0, 1 / 2, -1, -1 / 2, 1, 0],
  [0, 1, -3 / 2, -2, 3 / 2, 1],
];
/** Filter transform G (6 x 3). */
const FILTER_TRANSFORM = [
  [1, 0, 0],
  [1 / 3, 1 / 3, 1 / 3],
  [-1 / 3, 1 / 3, -1 / 3],
  [-16 / 15, -8 / 15, -4 / 15],
  [1 / 15, -2 / 15, 4 / 15],
  [0, 0, 1],
];
/** Output transform Aᵀ (4 x 6). */
const OUTPUT_TRANSFORM = [
  [1, 1, 1, 1, 1, 0],
  [0, 1, -1, 1 / 2, -2, 0],
  [0, 1, 1, 1 / 4, 4, 0],
  [0, 1, -1, 1 / 8, -8, 1],
];
/** Outputs per tile. */
export const WINOGRAD_TILE = 4;

/** Σ c_i x_i over the nonzero coefficients; takes refs, consumes nothing. */
function combine(xs: JArray[], coefficients: number[]): JArray {
  let sum: JArray | null = null;
  coefficients.forEach((c, i) => {
    if (c === 0) return;
    if (c === -1) {
      sum = sum ? sum.sub(xs[i].ref) : xs[i].ref.neg();
      return;
    }
    const term = c === 1 ? xs[i].ref : xs[i].ref.mul(c);
    sum = sum ? sum.add(term) : term;
  });
  if (!sum) throw new Error("winograd: a transform row has no nonzero coefficient");
  return sum;
}

/**
 * y[b, t, o] = Σ_k Σ_c w[o, c, k] · xp[b, t + k·d, c] with xp = x zero-padded
 * by (left, right): a conv1d with stride 1, groups 1 and 3 taps, no bias.
 * x [B, T, C] is consumed; w [O, C, 3] (PyTorch layout) is not.
 * The matmul is passed in so this module need not depend on the layers.
 */
export function conv1dWinograd3(
  w: JArray,
  x: JArray,
  left: number,
  right: number,
  dilation: number,
  matmul: (a: JArray, b: JArray) => JArray,
): JArray {
  const [B, T, C] = x.shape;
  const [O, Cw, K] = w.shape;
  if (K !== 3 || Cw !== C) throw new Error(`winograd: needs a [O, ${C}, 3] weight, got [${w.shape.join(", ")}]`);
  const d = dilation;
  const padded = T + left + right;
  const outLen = padded - 2 * d;
  if (outLen < 1) throw new Error(`winograd: input of ${T} frames is too short for a dilation-${d} 3-tap conv`);
  const span = WINOGRAD_TILE * d; // frames covered by one tile index (all d phases)
  const tiles = Math.ceil(outLen / span);
  // One more tile's frames than the tiles cover: the last tile's two extra inputs.
  const xp = np
    .pad(x, [[0, 0], [left, right + (tiles + 1) * span - padded], [0, 0]])
    .reshape([B, tiles + 1, WINOGRAD_TILE, d, C]);
  const inputs: JArray[] = [];
  for (let i = 0; i < WINOGRAD_TILE + 2; i++) {
    const tile = i < WINOGRAD_TILE ? 0 : 1;
    inputs.push(xp.ref.slice([], [tile, tile + tiles], i % WINOGRAD_TILE, [], []));
  }
  xp.dispose();
  const taps = [0, 1, 2].map((k) => w.ref.slice([], [], k)); // [O, C] each
  const rows = B * tiles * d;
  // One matmul per transformed point: separate products measured faster than one
  // batched product, whose stacked operands jax-js builds with a mask per part.
  const products = INPUT_TRANSFORM.map((bRow, j) => {
    const v = combine(inputs, bRow).reshape([rows, C]);
    const g = combine(taps, FILTER_TRANSFORM[j]); // [O, C]
    return matmul(v, g.transpose()).reshape([B, tiles, d, O]);
  });
  inputs.forEach((a) => a.dispose());
  taps.forEach((a) => a.dispose());
  let y = np.stack(OUTPUT_TRANSFORM.map((aRow) => combine(products, aRow)), 2).reshape([B, tiles * span, O]);
  products.forEach((a) => a.dispose());
  if (tiles * span !== outLen) y = y.slice([], [0, outLen], []);
  return y;
}
