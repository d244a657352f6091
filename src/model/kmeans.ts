/**
 * k-means for codebooks: k-means++ seeding from a seeded Rng, then Lloyd
 * iterations. Deterministic for a given Rng state: ties go to the lower index,
 * sums are float64, and an emptied cluster is re-seeded with the point that is
 * worst served (not a random one).
 */
import type { Rng } from "../nn/rng.js";

/**
 * Index of the nearest centroid (squared Euclidean distance; ties to the lower
 * index) for each of the `n` points [n, dim]; writes indices to `index` and
 * distances to `dist`. `index` comes in as a guess (e.g. the last assignment):
 * starting from a close centroid lets most candidates be dropped after a few
 * dimensions (partial distance search). The result does not depend on the guess.
 */
export function assignNearest(points: Float32Array, n: number, dim: number, centroids: Float32Array, k: number, index: Uint32Array, dist: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const p = i * dim;
    let bestJ = index[i] < k ? index[i] : 0;
    let best = 0;
    for (let e = 0; e < dim; e++) {
      const diff = points[p + e] - centroids[bestJ * dim + e];
      best += diff * diff;
    }
    for (let j = 0; j < k; j++) {
      const c = j * dim;
      let d = 0;
      let e = 0;
      // Same summation order as for the guess, so equal distances compare equal.
      while (e < dim) {
        const stop = Math.min(e + 4, dim);
        for (; e < stop; e++) {
          const diff = points[p + e] - centroids[c + e];
          d += diff * diff;
        }
        if (d > best) break;
      }
      if (d < best || (d === best && j < bestJ)) {
        best = d;
        bestJ = j;
      }
    }
    index[i] = bestJ;
    dist[i] = best;
  }
}

function squaredDistance(a: Float32Array, ia: number, b: Float32Array, ib: number, dim: number): number {
  let d = 0;
  for (let e = 0; e < dim; e++) {
    const diff = a[ia + e] - b[ib + e];
    d += diff * diff;
  }
  return d;
}

/** k-means++: each new centroid is a point drawn with probability proportional to its squared distance to the chosen ones. */
export function kmeansPlusPlus(points: Float32Array, n: number, dim: number, k: number, rng: Rng): Float32Array {
  const centroids = new Float32Array(k * dim);
  const minDist = new Float64Array(n).fill(Infinity);
  let pick = rng.int(n);
  for (let j = 0; j < k; j++) {
    centroids.set(points.subarray(pick * dim, (pick + 1) * dim), j * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = squaredDistance(points, i * dim, centroids, j * dim, dim);
      if (d < minDist[i]) minDist[i] = d;
      total += minDist[i];
    }
    if (j === k - 1) break;
    if (total === 0) {
      pick = rng.int(n); // every point already is a centroid: duplicates are unavoidable
      continue;
    }
    const r = rng.uniform() * total;
    let acc = 0;
    pick = n - 1;
    for (let i = 0; i < n; i++) {
      acc += minDist[i];
      if (acc > r) {
        pick = i;
        break;
      }
    }
  }
  return centroids;
}

export interface KMeansResult {
  centroids: Float32Array;
  /** Nearest centroid of each point, for the final centroids. */
  assignment: Uint32Array;
  /** Lloyd iterations run (fewer than asked when the assignment stopped changing). */
  iterations: number;
  /** Mean squared distance of the points to their centroids after the last update. */
  meanSquaredError: number;
}

/** k-means of `n` points [n, dim] into `k` clusters: k-means++ seeds, then up to `iterations` Lloyd steps. */
export function kmeans(points: Float32Array, n: number, dim: number, k: number, rng: Rng, iterations: number): KMeansResult {
  if (n < k) throw new Error(`k-means needs at least ${k} points, got ${n}`);
  const centroids = kmeansPlusPlus(points, n, dim, k, rng);
  const index = new Uint32Array(n);
  const prev = new Uint32Array(n);
  const dist = new Float64Array(n);
  const sums = new Float64Array(k * dim);
  const counts = new Float64Array(k);
  let it = 0;
  for (; it < iterations; it++) {
    assignNearest(points, n, dim, centroids, k, index, dist);
    if (it > 0 && index.every((v, i) => v === prev[i])) break; // converged: the update would change nothing
    prev.set(index);
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const j = index[i];
      counts[j]++;
      for (let e = 0; e < dim; e++) sums[j * dim + e] += points[i * dim + e];
    }
    for (let j = 0; j < k; j++) {
      if (counts[j] > 0) {
        for (let e = 0; e < dim; e++) centroids[j * dim + e] = sums[j * dim + e] / counts[j];
        continue;
      }
      // Empty cluster: move it onto the point farthest from its centroid, and stop that point being picked again.
      let far = 0;
      for (let i = 1; i < n; i++) if (dist[i] > dist[far]) far = i;
      centroids.set(points.subarray(far * dim, (far + 1) * dim), j * dim);
      dist[far] = 0;
    }
  }
  assignNearest(points, n, dim, centroids, k, index, dist);
  let sse = 0;
  for (let i = 0; i < n; i++) sse += dist[i];
  return { centroids, assignment: index, iterations: it, meanSquaredError: sse / n };
}
