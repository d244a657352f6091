/**
 * Sinusoidal time embedding values, computed on the host (no jax-js), as in
 * Matcha-TTS/Grad-TTS: [sin(scale t f), cos(scale t f)] with
 * f_i = exp(-i ln(10000) / (dim/2 - 1)). Each argument is rounded to float32
 * as PyTorch computes it, then the sine is taken exactly (jax-js's float32
 * sine loses ~5e-5 at arguments near 1000).
 */
export function timeEmbeddingValues(t: ArrayLike<number>, dim: number, scale = 1000): Float32Array {
  const half = dim / 2;
  const c = Math.fround(Math.log(10000) / (half - 1));
  const out = new Float32Array(t.length * dim);
  for (let b = 0; b < t.length; b++) {
    const st = Math.fround(scale * Math.fround(t[b]));
    for (let i = 0; i < half; i++) {
      const f = Math.fround(Math.exp(Math.fround(-i * c)));
      const arg = Math.fround(st * f);
      out[b * dim + i] = Math.sin(arg);
      out[b * dim + half + i] = Math.cos(arg);
    }
  }
  return out;
}
