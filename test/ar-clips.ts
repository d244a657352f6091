import type { LatentClip } from "../src/model/predictive-rvq.js";
import type { Rng } from "../src/nn/rng.js";

/** Clips of a stable vector AR(1) process z_t - m = A (z_{t-1} - m) + e_t, as consecutive latents behave. */
export function arClips(rng: Rng, dim: number, a: Float64Array, mean: Float64Array, clips: number, frames: number, noise = 0.3): LatentClip[] {
  return Array.from({ length: clips }, () => {
    const z = new Float32Array(frames * dim);
    const x = Float64Array.from({ length: dim }, () => rng.normal());
    for (let t = 0; t < frames; t++) {
      const next = new Float64Array(dim);
      for (let i = 0; i < dim; i++) {
        let s = noise * rng.normal();
        for (let j = 0; j < dim; j++) s += a[i * dim + j] * x[j];
        next[i] = s;
      }
      x.set(next);
      for (let i = 0; i < dim; i++) z[t * dim + i] = mean[i] + x[i];
    }
    return { z, frames };
  });
}

/** A rotation-like predictor with spectral radius 0.9: strongly correlated frames. */
export function arMatrix(dim: number): Float64Array {
  const a = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i += 2) {
    const th = 0.2 + 0.1 * i;
    a[i * dim + i] = 0.9 * Math.cos(th);
    a[i * dim + i + 1] = -0.9 * Math.sin(th);
    a[(i + 1) * dim + i] = 0.9 * Math.sin(th);
    a[(i + 1) * dim + i + 1] = 0.9 * Math.cos(th);
  }
  return a;
}
