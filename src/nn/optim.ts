/**
 * AdamW with bias correction and global gradient-norm clipping, an EMA of the
 * weights, and learning-rate schedules. Updates run as one jit-compiled
 * function over the whole parameter tree (fused element-wise kernels);
 * hyper-parameters enter as a small array so changing the learning rate never
 * recompiles.
 */
import { jit, np, tree, type JArray } from "./runtime.js";
import type { Params } from "./params.js";

export interface AdamConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global gradient norm to this (0 = off). */
  clipNorm: number;
}

export const DEFAULT_ADAM: AdamConfig = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, clipNorm: 1 };

export interface AdamState {
  step: number;
  m: Params;
  v: Params;
}

export function initAdamState(params: Params): AdamState {
  const zerosLike = (p: JArray) => np.zeros(p.shape);
  return { step: 0, m: tree.map(zerosLike, tree.ref(params)) as Params, v: tree.map(zerosLike, tree.ref(params)) as Params };
}

type UpdateOut = { params: Params; m: Params; v: Params; gradNorm: JArray };

export class AdamW {
  readonly config: AdamConfig;
  private update: (params: Params, grads: Params, m: Params, v: Params, hyper: JArray) => UpdateOut;

  constructor(config: Partial<AdamConfig> = {}) {
    this.config = { ...DEFAULT_ADAM, ...config };
    const { beta1, beta2, eps, weightDecay, clipNorm } = this.config;
    // hyper = [lr, 1 - beta1^t, 1 - beta2^t]
    this.update = jit((params: Params, grads: Params, m: Params, v: Params, hyper: JArray): UpdateOut => {
      const gl = tree.leaves(grads) as JArray[];
      const sq = gl.map((g) => np.square(g.ref).sum()).reduce((a, b) => a.add(b));
      const gradNorm = np.sqrt(sq);
      const scale = clipNorm > 0 ? np.minimum(np.reciprocal(gradNorm.ref.add(1e-6)).mul(clipNorm), 1) : np.ones([]);
      const lr = hyper.ref.slice(0);
      const bc1 = hyper.ref.slice(1);
      const bc2 = hyper.slice(2);
      const pl = tree.leaves(params) as JArray[];
      const ml = tree.leaves(m) as JArray[];
      const vl = tree.leaves(v) as JArray[];
      const newP: JArray[] = [];
      const newM: JArray[] = [];
      const newV: JArray[] = [];
      pl.forEach((p, i) => {
        const g = gl[i].mul(scale.ref);
        const mi = ml[i].mul(beta1).add(g.ref.mul(1 - beta1));
        const vi = vl[i].mul(beta2).add(np.square(g).mul(1 - beta2));
        const mhat = mi.ref.div(bc1.ref);
        const vhat = vi.ref.div(bc2.ref);
        let step = mhat.div(np.sqrt(vhat).add(eps));
        if (weightDecay > 0) step = step.add(p.ref.mul(weightDecay));
        newP.push(p.sub(step.mul(lr.ref)));
        newM.push(mi);
        newV.push(vi);
      });
      scale.dispose();
      lr.dispose();
      bc1.dispose();
      bc2.dispose();
      const def = tree.structure(params);
      return {
        params: tree.unflatten(def, newP) as Params,
        m: tree.unflatten(def, newM) as Params,
        v: tree.unflatten(def, newV) as Params,
        gradNorm,
      };
    }) as unknown as typeof this.update;
  }

  /** One step: consumes params and grads, returns the new params; updates `state` in place. */
  step(params: Params, grads: Params, state: AdamState, lr: number): { params: Params; gradNorm: number } {
    state.step += 1;
    const t = state.step;
    const hyper = np.array(new Float32Array([lr, 1 - this.config.beta1 ** t, 1 - this.config.beta2 ** t]));
    const out = this.update(params, grads, state.m, state.v, hyper);
    state.m = out.m;
    state.v = out.v;
    return { params: out.params, gradNorm: (out.gradNorm.dataSync() as Float32Array)[0] };
  }
}

/** Exponential moving average of weights: ema <- decay * ema + (1 - decay) * params. */
export const emaUpdate = jit((ema: Params, params: Params, decay: JArray): Params => {
  const el = tree.leaves(ema) as JArray[];
  const pl = tree.leaves(params) as JArray[];
  const d = decay;
  const out = el.map((e, i) => e.mul(d.ref).add(pl[i].mul(np.ones([]).sub(d.ref))));
  d.dispose();
  return tree.unflatten(tree.structure(ema), out) as Params;
}) as unknown as (ema: Params, params: Params, decay: JArray) => Params;

export interface Schedule {
  kind: "constant" | "cosine" | "exponential";
  lr: number;
  warmup: number;
  /** Total steps (cosine) or steps per decay by `gamma` (exponential). */
  steps: number;
  minLr?: number;
  gamma?: number;
}

/** Learning rate at a step: linear warm-up, then cosine to minLr or exponential decay. */
export function learningRate(s: Schedule, step: number): number {
  if (s.warmup > 0 && step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  const k = step - s.warmup;
  const minLr = s.minLr ?? 0;
  switch (s.kind) {
    case "constant":
      return s.lr;
    case "cosine": {
      const span = Math.max(1, s.steps - s.warmup);
      const p = Math.min(1, k / span);
      return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * p));
    }
    case "exponential":
      return Math.max(minLr, s.lr * (s.gamma ?? 0.5) ** (k / Math.max(1, s.steps)));
  }
}
