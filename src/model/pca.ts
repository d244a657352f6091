/**
 * Principal component analysis of row vectors: mean and covariance in float64,
 * then the symmetric eigenproblem by cyclic Jacobi rotations. Jacobi is exact to
 * rounding, has no random start (so a fit is deterministic) and is quick on the
 * 128 x 128 covariance of mel frames (a few sweeps of 8k rotations).
 */

export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /** Unit eigenvectors as rows [n, n], in the order of `values`. */
  vectors: Float64Array;
}

/**
 * Eigen-decomposition of the symmetric n x n matrix `a` (row-major; only read).
 * Each eigenvector's largest-magnitude entry is made positive, so the result
 * does not depend on the arbitrary sign a rotation sequence leaves.
 */
export function symmetricEigen(a: Float64Array, n: number, maxSweeps = 60): SymmetricEigen {
  if (a.length !== n * n) throw new Error(`expected ${n * n} entries, got ${a.length}`);
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    let diag = 0;
    for (let p = 0; p < n; p++) {
      diag += m[p * n + p] ** 2;
      for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    }
    if (off <= 1e-30 * diag || off === 0) break; // off-diagonal mass below float64 rounding of the diagonal
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) rotate(m, v, n, p, q);
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[j] - values[i] || i - j);
  const out = { values: new Float64Array(n), vectors: new Float64Array(n * n) };
  order.forEach((col, r) => {
    out.values[r] = values[col];
    let big = 0;
    for (let k = 0; k < n; k++) if (Math.abs(v[k * n + col]) > Math.abs(v[big * n + col])) big = k;
    const sign = v[big * n + col] < 0 ? -1 : 1;
    for (let k = 0; k < n; k++) out.vectors[r * n + k] = sign * v[k * n + col];
  });
  return out;
}

/** One Jacobi rotation J(p, q) zeroing m[p][q]: m <- J^T m J, v <- v J (columns of v are eigenvectors). */
function rotate(m: Float64Array, v: Float64Array, n: number, p: number, q: number): void {
  const apq = m[p * n + q];
  if (apq === 0) return;
  const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
  // t = tan(angle): the smaller root of t^2 + 2 theta t - 1 = 0 (keeps the rotation under 45 degrees).
  const t = Math.abs(theta) > 1e150 ? 0.5 / theta : Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
  const c = 1 / Math.sqrt(t * t + 1);
  const s = t * c;
  for (let k = 0; k < n; k++) {
    const kp = m[k * n + p];
    const kq = m[k * n + q];
    m[k * n + p] = c * kp - s * kq;
    m[k * n + q] = s * kp + c * kq;
  }
  for (let k = 0; k < n; k++) {
    const pk = m[p * n + k];
    const qk = m[q * n + k];
    m[p * n + k] = c * pk - s * qk;
    m[q * n + k] = s * pk + c * qk;
  }
  m[p * n + q] = m[q * n + p] = 0; // exactly zero, not rounding noise
  for (let k = 0; k < n; k++) {
    const kp = v[k * n + p];
    const kq = v[k * n + q];
    v[k * n + p] = c * kp - s * kq;
    v[k * n + q] = s * kp + c * kq;
  }
}

export interface Pca {
  /** Mean row [dim]. */
  mean: Float64Array;
  /** The top `k` principal directions as unit rows [k, dim]. */
  components: Float64Array;
  /** Variance along every direction (all `dim` eigenvalues of the covariance), largest first. */
  variances: Float64Array;
}

/** PCA of `n` rows of `x` [n, dim], keeping the top `k` directions. */
export function fitPca(x: Float32Array, n: number, dim: number, k: number): Pca {
  if (x.length < n * dim) throw new Error(`expected ${n * dim} values, got ${x.length}`);
  if (n < 2) throw new Error("PCA needs at least 2 rows");
  if (k < 1 || k > dim) throw new Error(`cannot keep ${k} of ${dim} directions`);
  const mean = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) mean[j] += x[i * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= n;
  // Upper triangle of the covariance, mirrored afterwards.
  const cov = new Float64Array(dim * dim);
  const d = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < dim; j++) d[j] = x[i * dim + j] - mean[j];
    for (let a = 0; a < dim; a++) {
      const da = d[a];
      const row = a * dim;
      for (let b = a; b < dim; b++) cov[row + b] += da * d[b];
    }
  }
  for (let a = 0; a < dim; a++)
    for (let b = a; b < dim; b++) cov[b * dim + a] = cov[a * dim + b] /= n;
  const eig = symmetricEigen(cov, dim);
  return { mean, components: eig.vectors.slice(0, k * dim), variances: eig.values };
}
